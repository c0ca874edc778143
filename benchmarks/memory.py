"""Memory of a serving process per index, and what each 1,000 articles add.

    python benchmarks/memory.py [--indexes DIR ...]

For a baseline (the model loaded, no index) and for each cached `qa eval` index (the seed,
BBC, RealTime QA; run `qa eval` on them first), a fresh process loads the engine and answers 20
questions; its peak resident memory (VmHWM) and what it holds at the end (VmRSS) are printed,
and what each index adds over the model, and over the one-article seed index (the engine's
fixed cost) per 1,000 articles and per 1,000 chunks. Memory-mapped files count in RSS only
as far as answers touched them. Writes `benchmarks/results/memory.json`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "eval"
INDEXES = ("seed-*", "bbc-news-*", "realtimeqa-*")
QUESTIONS = ROOT / "eval" / "bbc-test" / "queries.jsonl"


def _status() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _serve(index: str | None, queue) -> None:
    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.embed.embedding import Embedder

    settings = Settings.from_env()
    embedder = Embedder.load(settings.model, settings.precision)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    articles = chunks = 0
    if index is None:
        for q in questions[:20]:
            embedder.encode_query(q)
    else:
        engine = Engine.load(settings.with_(index=Path(index)), embedder)
        articles = len(engine.index.data.articles)
        chunks = len(engine.index.data.chunks)
        for q in questions[:20]:
            engine.ask(q)
    queue.put(
        {
            "index": Path(index).name if index else None,
            "articles": articles,
            "chunks": chunks,
            **_status(),
        }
    )


def _child(index: str | None) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(index, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--indexes", nargs="*", type=Path, help="smallest first (default: the eval caches)"
    )
    args = parser.parse_args()
    folders = args.indexes or [
        sorted(p for p in CACHE.glob(pattern) if (p / "CURRENT").is_file())[-1]
        for pattern in INDEXES
        if any(CACHE.glob(pattern))
    ]
    base = _child(None)
    rows = [base] + [_child(str(folder)) for folder in folders]
    smallest = rows[1] if len(rows) > 1 else base  # the seed: the engine's fixed cost
    for row in rows[1:]:
        row["peak_mb_over_model"] = round(row["VmHWM"] - base["VmHWM"])
        if row is not smallest:  # what the corpus itself adds, past the fixed cost
            grown = row["VmHWM"] - smallest["VmHWM"]
            row["mb_per_1000_articles"] = round(
                grown / (row["articles"] - smallest["articles"]) * 1000, 1
            )
            row["mb_per_1000_chunks"] = round(
                grown / (row["chunks"] - smallest["chunks"]) * 1000, 1
            )
    for row in rows:
        row["VmHWM"], row["VmRSS"] = round(row["VmHWM"]), round(row["VmRSS"])
        print(json.dumps(row))
    out = ROOT / "benchmarks" / "results" / "memory.json"
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
