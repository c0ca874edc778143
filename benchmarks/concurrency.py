"""Answering 1, 2 and 4 questions at once on this machine: throughput, latency, and whether the
answers stay the ones given alone. What the chat's `concurrency_limit` should be.

    python benchmarks/concurrency.py [--index DIR] [--n 120]

One engine is loaded (default: the `qa eval` cache of BBC News, 7,995 chunks); its questions
are first asked one at a time (the reference answers), then by 1, 2 and 4 threads at once, each
level twice in the order 1, 2, 4, 4, 2, 1 so a drifting machine load falls on all. Writes
`benchmarks/results/concurrency.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.config import Settings
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import cache_folder

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT / "eval" / "bbc-dev"
LEVELS = (1, 2, 4, 4, 2, 1)


def _cited(answer) -> tuple:
    return answer.text, tuple((c.article_id, c.quote) for c in answer.citations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--n", type=int, default=120)
    args = parser.parse_args()
    dataset = load_dataset(BBC)
    settings = Settings.from_env()
    index = args.index or cache_folder(settings, dataset)
    if not (index / "CURRENT").is_file():
        sys.exit(f"No index at {index}: run `qa eval {BBC}` first.")
    engine = Engine.load(settings.with_(index=index))
    questions = [q.question for q in dataset.queries][: args.n]
    for q in questions[:5]:
        engine.ask(q)
    alone = {q: _cited(engine.ask(q)) for q in questions}
    runs: dict[int, list[dict]] = {}
    for workers in LEVELS:

        def timed(q: str) -> tuple[float, bool]:
            t = time.perf_counter()
            same = _cited(engine.ask(q)) == alone[q]
            return (time.perf_counter() - t) * 1000, same

        t = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(timed, questions))
        wall = time.perf_counter() - t
        ms = [r[0] for r in results]
        runs.setdefault(workers, []).append({
            "questions_per_second": round(len(questions) / wall, 2),
            "p50_ms": round(float(np.median(ms)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "same_as_alone": sum(r[1] for r in results),
        })  # fmt: skip
        print(workers, runs[workers][-1], flush=True)
    best = {w: max(r["questions_per_second"] for r in rs) for w, rs in runs.items()}
    result = {
        "index": index.name,
        "chunks": len(engine.index.data.chunks),
        "questions": len(questions),
        "cpus": os.cpu_count(),
        "runs": {str(w): rs for w, rs in runs.items()},
        "throughput_vs_one": {str(w): round(best[w] / best[1], 2) for w in best},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "concurrency.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
