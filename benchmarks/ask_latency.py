"""`ask` latency with the model and index loaded: p50/p95 over questions, in-process.

    python benchmarks/ask_latency.py --index DIR [--questions FILE] [--n 50]

Writes benchmarks/results/ask_latency.json. The goal on the BBC index is p50 <= 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.engine import Engine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "bench-bbc-index")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval/bbc-dev/queries.jsonl")
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()

    engine = Engine.load(Settings(index=args.index))
    lines = args.questions.read_text(encoding="utf-8").splitlines()[: args.n]
    questions = [json.loads(line)["question"] for line in lines]
    engine.ask(questions[0])  # warm-up: first call pays one-time allocations
    totals, stages = [], {"embed": [], "retrieve": [], "answer": []}
    for q in questions:
        t = time.perf_counter()
        answer = engine.ask(q)
        totals.append((time.perf_counter() - t) * 1000)
        for key in stages:
            stages[key].append(answer.timings_ms[key])
    result = {
        "index": args.index.name,
        "chunks": engine.index.faiss_index.ntotal,
        "questions": len(questions),
        "ask_ms_p50": round(float(np.percentile(totals, 50)), 2),
        "ask_ms_p95": round(float(np.percentile(totals, 95)), 2),
        "stage_ms_p50": {k: round(float(np.percentile(v, 50)), 2) for k, v in stages.items()},
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "ask_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
