"""Encoding one question: PyTorch (sentence-transformers) against ONNX Runtime, in one run.

    python benchmarks/query_runtime.py [--n 200]

Exports the model into a fresh temporary cache (timed, what the first question on a machine
pays), then encodes RealTime QA's questions with each runtime taking turns (and turns at going
first), so a busy machine slows both alike. Prints p50/p95 of each, their ratio and the largest
difference between the two vectors. Writes `benchmarks/results/query_runtime.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.embed.embedding import Embedder, _Queries
from qa.eval.datasets import load_dataset

ROOT = Path(__file__).resolve().parents[1]
RTQA = ROOT.parent / "shared" / "eval" / "realtimeqa"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    questions = [q.question for q in load_dataset(RTQA).queries][: args.n]
    torch_only = Embedder.load()
    with tempfile.TemporaryDirectory() as cache:
        onnx = Embedder(torch_only.model, torch_only.name, queries=_Queries(Path(cache)))
        t = time.perf_counter()
        onnx.encode_query(questions[0])
        first_s = time.perf_counter() - t
        if onnx.queries.note:
            raise SystemExit(f"ONNX Runtime not used: {onnx.queries.note}")
        runtimes = {"torch": torch_only, "onnx": onnx}
        for q in questions[:10]:  # warm both
            for e in runtimes.values():
                e.encode_query(q)
        ms: dict[str, list[float]] = {name: [] for name in runtimes}
        gap = 0.0
        for n, q in enumerate(questions):
            vectors = {}
            for name in sorted(runtimes, reverse=n % 2 == 1):
                t = time.perf_counter()
                vectors[name] = runtimes[name].encode_query(q)
                ms[name].append((time.perf_counter() - t) * 1000)
            gap = max(gap, float(np.abs(vectors["torch"] - vectors["onnx"]).max()))
    stats = {
        name: {
            "p50_ms": round(float(np.median(v)), 2),
            "p95_ms": round(float(np.percentile(v, 95)), 2),
        }
        for name, v in ms.items()
    }
    result = {
        "questions": len(questions),
        "first_question_with_export_s": round(first_s, 2),
        "runtimes": stats,
        "speedup_p50": round(stats["torch"]["p50_ms"] / stats["onnx"]["p50_ms"], 2),
        "max_abs_difference": gap,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "query_runtime.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
