"""A build's memory as the corpus grows: the peak, and what stays live once embedding is done.

    python benchmarks/build_memory.py [--articles 400 1600 2225]

Each size is built in a fresh process (`python benchmarks/build_memory.py --one N`) from the
first N BBC articles into a temporary index. It reports the process's resident memory after
loading the model, its peak over the build (VmHWM), and, when embedding has finished, the
resident memory before and after handing freed heap back to the system (glibc `malloc_trim`):
the difference is memory freed but held by the allocator, the rest is what the build keeps;
of that, the anonymous part (RssAnon) is the build's own, the rest pages of the files it
writes as it goes (the sentence vectors), which the system can drop and read back.
Writes `benchmarks/results/build_memory.json`.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"


def _memory_mb() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
            values[line.split(":")[0]] = int(line.split()[1]) // 1024
    return values


def one(n: int) -> dict:
    """Build the first `n` BBC articles in this process and measure it."""
    from qa.config import Settings
    from qa.embed.embedding import Embedder
    from qa.index.indexing import build_index

    embedder = Embedder.load(precision="auto")
    result = {"articles": n, "after_model_mb": _memory_mb()["VmRSS"]}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        with open(BBC, encoding="utf-8") as src, open(corpus, "w", encoding="utf-8") as out:
            for i, line in enumerate(src):
                if i >= n:
                    break
                out.write(line)

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "keywords" and "after_embedding_mb" not in result:
                result["after_embedding_mb"] = _memory_mb()["VmRSS"]
                ctypes.CDLL("libc.so.6").malloc_trim(0)
                result["after_embedding_trimmed_mb"] = _memory_mb()["VmRSS"]
                # what the build holds in its own memory, without file pages it mapped (the
                # sentence vectors on disk), which the system can drop and read back
                result["after_embedding_anonymous_mb"] = _memory_mb()["RssAnon"]

        settings = Settings(corpus=corpus, index=Path(tmp) / "index")
        report = build_index(settings, embedder, progress)
    result |= {"chunks": report.chunks, "peak_mb": _memory_mb()["VmHWM"]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[400, 1600, 2225])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    rows = []
    for n in args.articles:
        run = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    first, last = rows[0], rows[-1]
    per_1000 = 1000 / (last["articles"] - first["articles"])
    summary = {
        "runs": rows,
        "peak_mb_per_1000_articles": round((last["peak_mb"] - first["peak_mb"]) * per_1000, 1),
        "kept_mb_per_1000_articles": round(
            (last["after_embedding_trimmed_mb"] - first["after_embedding_trimmed_mb"]) * per_1000, 1
        ),
        "kept_anonymous_mb_per_1000_articles": round(
            (last["after_embedding_anonymous_mb"] - first["after_embedding_anonymous_mb"])
            * per_1000,
            1,
        ),
    }
    print(json.dumps(summary, indent=2))
    out = ROOT / "benchmarks" / "results" / "build_memory.json"
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
