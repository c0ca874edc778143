"""`ask` latency p50/p95 on the BBC index and on a synthetic 10,000-chunk index; peak memory.

    python benchmarks/latency.py [--index DIR] [--questions FILE] [--n 60] [--rows 10000]

In one process, with the model loaded: load the BBC index, ask `--n` questions (the dev set's,
in file order, after one warm-up) and time each `Engine.ask`; record this process's peak
resident memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) at that point, which is what
loading the BBC index and answering costs.

Then the synthetic index: the BBC index's own chunks repeated (row i is chunk i mod n) until
there are `--rows` of them, each repeat's vector the original plus Gaussian noise (sigma 0.02
per dimension) renormalised to a unit vector, its sentence vectors copied. So search runs
over 10,000 real-looking rows and `compose` gets near-duplicate chunks with their real
sentences: the cost of a bigger exact (IndexFlatIP) search, nothing else. No model call is
made to build it (its keyword part repeats the same rows). The same questions are asked
again, in the default mode (QA_MODE, hybrid).

Writes benchmarks/results/latency.json. The default index is the `qa eval` cache of
eval/bbc-dev (built by `qa eval eval/bbc-dev`, or by run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.config import Settings
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import cache_folder
from qa.index import bm25

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def timed_asks(engine: Engine, questions: list[str]) -> dict:
    engine.ask(questions[0])  # warm-up: the first call pays one-time allocations
    totals = []
    for q in questions:
        t = time.perf_counter()
        engine.ask(q)
        totals.append((time.perf_counter() - t) * 1000)
    return {
        "chunks": int(engine.index.faiss_index.ntotal),
        "questions": len(questions),
        "ask_ms_p50": round(float(np.percentile(totals, 50)), 2),
        "ask_ms_p95": round(float(np.percentile(totals, 95)), 2),
    }


def synthetic(engine: Engine, rows: int, seed: int = 0) -> Engine:
    """The engine's index grown to `rows` chunks by noisy repeats (see the module docstring)."""
    import faiss

    data, index = engine.index.data, engine.index
    n = len(data.chunks)
    order = np.arange(rows) % n
    rng = np.random.default_rng(seed)
    vectors = data.vectors[order].astype(np.float32)
    vectors[n:] += rng.normal(0, 0.02, size=vectors[n:].shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # unit: inner product = cosine
    offsets = index.sentence_offsets
    counts = np.diff(offsets)[order]
    sentence_rows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in order])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    grown = replace(
        data,
        chunks=[data.chunks[i] for i in order],
        vectors=vectors,
        sentence_vectors=data.sentence_vectors[sentence_rows],
        keyword=bm25.rebuild(data.keyword, order.tolist()) if data.keyword else None,
    )
    new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return replace(
        engine, index=replace(index, data=grown, faiss_index=flat, sentence_offsets=new_offsets)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--questions", type=Path, default=ROOT / "eval/bbc-dev/queries.jsonl")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    index = args.index or cache_folder(Settings(), load_dataset(ROOT / "eval" / "bbc-dev"))
    if not (index / "CURRENT").is_file():
        sys.exit(f"No index at {index}: run `qa eval eval/bbc-dev` (or run_all.py) first.")
    lines = args.questions.read_text(encoding="utf-8").splitlines()[: args.n]
    questions = [json.loads(line)["question"] for line in lines]
    t = time.perf_counter()
    engine = Engine.load(Settings(index=index))
    load_s = time.perf_counter() - t
    bbc = timed_asks(engine, questions)
    # ru_maxrss is in KiB on Linux: the peak of this process so far (model + BBC index + asks)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    big = timed_asks(synthetic(engine, args.rows), questions)
    result = {
        "bbc": dict(bbc, load_seconds=round(load_s, 2), peak_rss_mib=round(peak_mib, 1)),
        "synthetic": dict(big, how="BBC chunks repeated with noisy vectors, see docstring"),
        "torch_threads": __import__("torch").get_num_threads(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
