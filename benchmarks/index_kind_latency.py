"""`ask` in the default mode over one index, its FAISS part exact and HNSW, in one run.

    python benchmarks/index_kind_latency.py [--index DIR] [--n 200]

The index (default: the `qa eval` cache of RealTime QA, 37,654 chunks) is loaded once; an
exact `IndexFlatIP` and an HNSW index (`qa.index.ann`, the settings' efSearch) are built in memory
from its vectors, and each question is asked of both in turn, so a busy machine slows them
alike (and taking turns at going first). Prints ask p50/p95, the stages' p50 and how often
the two give the same citations. Writes `benchmarks/results/index_kind_latency.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.config import Settings
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import cache_folder
from qa.index import ann

ROOT = Path(__file__).resolve().parents[1]
RTQA = ROOT.parent / "shared" / "eval" / "realtimeqa"
STAGES = ("embed", "retrieve", "answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    dataset = load_dataset(RTQA)
    settings = Settings.from_env()
    index = args.index or cache_folder(settings, dataset)
    if not (index / "CURRENT").is_file():
        sys.exit(f"No index at {index}: run `qa eval {RTQA}` first.")
    engine = Engine.load(settings.with_(index=index))
    vectors = engine.index.data.vectors
    kinds = {}
    for kind in ("flat", "hnsw"):
        t = time.perf_counter()
        faiss_index = ann.build(ann.choose(kind, len(vectors)), vectors)
        ann.configure(faiss_index, settings.ef_search, settings.nprobe)
        loaded = dataclasses.replace(
            engine.index, faiss_index=faiss_index, data=dataclasses.replace(
                engine.index.data, vectors=ann.rows_of(faiss_index)
            ),
        )  # fmt: skip
        kinds[kind] = (dataclasses.replace(engine, index=loaded), time.perf_counter() - t)
    questions = [q.question for q in dataset.queries][: args.n]
    for e, _ in kinds.values():
        e.refresh = lambda e=e: e.index  # keep the index built here (CURRENT names the file's)
        e.ask(questions[0])
    totals = {k: [] for k in kinds}
    stages = {k: {s: [] for s in STAGES} for k in kinds}
    same = 0
    for n, q in enumerate(questions):
        cited = {}
        # taking turns at going first: the second ask of a question finds the sentence
        # signals of the same passages cached, which would flatter whichever kind came second
        for kind in sorted(kinds, reverse=n % 2 == 1):
            e = kinds[kind][0]
            t = time.perf_counter()
            answer = e.ask(q)
            totals[kind].append((time.perf_counter() - t) * 1000)
            for s in STAGES:
                stages[kind][s].append(answer.timings_ms[s])
            cited[kind] = [(c.article_id, c.quote) for c in answer.citations]
        same += cited["flat"] == cited["hnsw"]
    result = {
        "index": index.name,
        "chunks": len(vectors),
        "precision": engine.embedder.precision,
        "questions": len(questions),
        "ef_search": settings.ef_search,
        "kinds": {
            kind: {
                "build_s": round(kinds[kind][1], 1),
                "ask_ms_p50": round(float(np.percentile(totals[kind], 50)), 2),
                "ask_ms_p95": round(float(np.percentile(totals[kind], 95)), 2),
                "stage_ms_p50": {
                    s: round(float(np.percentile(v, 50)), 2) for s, v in stages[kind].items()
                },
            }
            for kind in kinds
        },
        "same_citations": round(same / len(questions), 4),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "index_kind_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
