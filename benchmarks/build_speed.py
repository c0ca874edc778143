"""Index build time against the bare `model.encode` of the same chunks, in one run.

    python benchmarks/build_speed.py [--corpus FILE] [--index DIR] [--limit N]

Prints the figures and writes benchmarks/results/build_speed.json. The ratio (whole build /
bare encode) is what to compare between machines; the goal is <= 1.15.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.index.indexing import build_index, chunk_corpus
from qa.ingest.corpus import CorpusRead, read_corpus

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "bench-bbc-index")
    parser.add_argument("--limit", type=int, default=0, help="first N articles only")
    args = parser.parse_args()

    settings = Settings(corpus=args.corpus, index=args.index)
    embedder = Embedder.load(settings.model, settings.precision)
    t = time.perf_counter()
    corpus = read_corpus(settings.corpus)
    if args.limit:
        corpus = CorpusRead(corpus.articles[: args.limit], corpus.skipped)
    read_seconds = time.perf_counter() - t

    report = build_index(settings, embedder, corpus=corpus)
    build_seconds = read_seconds + report.seconds
    _, texts, _ = chunk_corpus(corpus.articles, settings, embedder, lambda *a: None)
    t = time.perf_counter()
    embedder.encode_texts(texts, batch_size=settings.batch_size)  # in the build's precision
    bare = time.perf_counter() - t

    result = {
        "corpus": str(args.corpus.name),
        "articles": report.articles,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "build_seconds": round(build_seconds, 2),
        "stage_seconds": dict(
            {k: round(v, 2) for k, v in report.stage_seconds.items()}, read=round(read_seconds, 2)
        ),
        "bare_encode_seconds": round(bare, 2),
        "ratio_build_to_bare_encode": round(build_seconds / bare, 3),
        # The keyword (BM25) part's share of the whole build; the goal is at most 10 %.
        "keyword_share_of_build": round(report.stage_seconds["keywords"] / build_seconds, 4),
        "chunks_per_second": round(report.chunks / build_seconds, 1),
        "precision": embedder.precision,
        # each stage's share of the whole build; the goal: all but embedding under 5 % together
        "stage_shares": {
            k: round(v / build_seconds, 4)
            for k, v in dict(report.stage_seconds, read=read_seconds).items()
        },
    }
    result["peak_rss_mb"] = round(_peak_rss_mb())  # the whole process: model, build, encode
    result["non_embedding_share"] = round(1 - result["stage_shares"].get("embed", 0.0), 4)
    print(json.dumps(result, indent=2))
    name = f"build_speed_{args.limit}.json" if args.limit else "build_speed.json"
    out = ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
