"""The same build in-process and on a local Ray, in one run: wall time and the ratio.

    python benchmarks/ray_overhead.py [--articles 300] [--cpus 2]

Both build the first `--articles` BBC articles from scratch with the same precision; the Ray
one starts its local Ray first and counts that (a real user pays it too), and the figures say
apart how long `ray.init` took. The vectors are compared (max absolute difference). Writes
`benchmarks/results/ray_overhead_PRECISION.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import numpy as np

from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.index import store
from qa.index.indexing import build_index
from qa.ingest.corpus import CorpusRead, read_corpus

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
WORK = ROOT / ".cache" / "ray-overhead"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    import ray

    shutil.rmtree(WORK, ignore_errors=True)
    corpus = read_corpus(BBC)
    corpus = CorpusRead(corpus.articles[: args.articles], corpus.skipped)
    settings = Settings.from_env().with_(corpus=BBC, index=WORK / "local")
    embedder = Embedder.load(settings.model, settings.precision)

    t = time.perf_counter()
    local = build_index(settings, embedder, corpus=corpus)
    local_s = time.perf_counter() - t

    t = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - t
    distributed = settings.with_(index=WORK / "ray", engine="ray")
    remote = build_index(distributed, embedder, corpus=corpus)
    ray_s = time.perf_counter() - t
    ray.shutdown()

    a, b = store.load(settings.index, {}), store.load(distributed.index, {})
    result = {
        "articles": local.articles,
        "chunks": local.chunks,
        "precision": embedder.precision,
        "cpus": args.cpus,
        "local_seconds": round(local_s, 1),
        "ray_seconds": round(ray_s, 1),
        "ray_init_seconds": round(init_s, 1),
        "ray_embed_seconds": round(remote.stage_seconds["embed"], 1),
        "local_embed_seconds": round(local.stage_seconds["embed"], 1),
        "ratio_ray_to_local": round(ray_s / local_s, 3),
        "max_abs_vector_difference": float(np.abs(a.data.vectors - b.data.vectors).max()),
        "same_chunk_ids": [c.chunk_id for c in a.data.chunks]
        == [c.chunk_id for c in b.data.chunks],
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / f"ray_overhead_{embedder.precision}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
