"""Chunking with sentences counted through the fixed tokenizer copy against the transformers
call, taking turns in one process.

    python benchmarks/count_tokens.py [--limit 1200]

Chunks the first N BBC articles three times each way (the chunks must come out the same) and
prints the seconds and the ratio of the best runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.index import indexing
from qa.ingest.corpus import read_corpus

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=1200)
    args = parser.parse_args()
    embedder = Embedder.load()
    folder = Path(tempfile.mkdtemp())
    lines = BBC.read_text(encoding="utf-8").splitlines()[: args.limit]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    articles = read_corpus(folder).articles
    settings = Settings(corpus=folder)
    seconds: dict[str, list[float]] = {"copy": [], "transformers": []}
    chunked = {}
    for _ in range(3):
        for way in seconds:
            embedder._counting = None if way == "copy" else False  # False: the slow path
            t = time.perf_counter()
            chunked[way] = indexing.chunk_corpus(articles, settings, embedder, lambda *a: None)
            seconds[way].append(round(time.perf_counter() - t, 2))
        assert [c.chunk_id for c in chunked["copy"][0]] == [
            c.chunk_id for c in chunked["transformers"][0]
        ] and list(chunked["copy"][1]) == list(chunked["transformers"][1])
    ratio = min(seconds["transformers"]) / min(seconds["copy"])
    print(f"{len(articles)} articles: tokenizer copy {seconds['copy']} s, transformers call "
          f"{seconds['transformers']} s, ratio {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
