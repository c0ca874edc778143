"""What a build holds in Python objects as the corpus grows, and where it was allocated.

    python benchmarks/build_python_memory.py [--sizes 2225 6675 13350]

The encoder is replaced by one that returns random unit vectors (the real tokenizer still
counts and chunks), so this measures the pipeline's own objects, not the model's working
memory, in minutes at sizes a real build would take hours for. Corpora past 2,225 articles
repeat the BBC articles under new ids, each paragraph of a repeat marked with its copy number
so that no text is shared. For each size: tracemalloc's peak over the whole build and
within each stage, what is held just before the generation is written, and the largest
allocation sites then.
Writes benchmarks/results/build_python_memory.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embed.embedding import DocumentVectors, Embedder, document_array, span_views
from qa.index import indexing, store

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"


class RandomVectors(Embedder):
    """The real model's tokenizer, random vectors instead of its forward pass."""

    def encode_documents(
        self, texts, spans, batch_size=64, on_batch=None, spans_out=None, vectors_out=None
    ):
        rng = np.random.default_rng(0)
        vectors = document_array(len(texts), self.dim, vectors_out)
        views = span_views(spans, self.dim, spans_out)
        for start in range(0, len(texts), batch_size):  # batch by batch, as the model goes
            batch = [texts[i] for i in range(start, min(start + batch_size, len(texts)))]
            drawn = rng.standard_normal((len(batch), self.dim)).astype(np.float32)
            drawn /= np.linalg.norm(drawn, axis=1, keepdims=True)
            vectors[start : start + len(batch)] = drawn
            for view, vector in zip(views[start : start + len(batch)], drawn, strict=True):
                view[:] = vector
        return DocumentVectors(vectors, views)


def _corpus(folder: Path, n: int) -> Path:
    lines = BBC.read_text(encoding="utf-8").splitlines()
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            row = json.loads(lines[i % len(lines)])
            copy = i // len(lines)
            row["id"] = f"{row['id']}-{copy}"
            if copy:  # a repeat gets text of its own, as a new article would
                row["text"] = row["text"].replace("\n\n", f" (copy {copy}).\n\n")
            f.write(json.dumps(row) + "\n")
    return folder


def measure(embedder: Embedder, n: int) -> dict:
    folder = _corpus(Path(tempfile.mkdtemp()), n)
    settings = Settings(corpus=folder, index=folder / "index", index_type="flat")
    held: dict[str, object] = {}
    save = store.save

    def snapshot_then_save(*args, **kwargs):
        held["snapshot"] = tracemalloc.take_snapshot()
        return save(*args, **kwargs)

    stage_peaks: dict[str, float] = {}
    stage = ["start"]

    def peak_by_stage(name: str, done: int, total: int) -> None:
        if name != stage[0]:  # the peak of the stage that just ended, then a fresh one
            stage_peaks[stage[0]] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
            tracemalloc.reset_peak()
            stage[0] = name

    store.save = snapshot_then_save
    tracemalloc.start(4)
    t = time.perf_counter()
    try:
        report = indexing.build_index(settings, embedder, peak_by_stage)
    finally:
        store.save = save
    stage_peaks[stage[0]] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
    peak = max(stage_peaks.values()) * 1e6
    tracemalloc.stop()
    stats = held["snapshot"].statistics("lineno")  # type: ignore[attr-defined]
    return {
        "articles": n,
        "chunks": report.chunks,
        "seconds": round(time.perf_counter() - t, 1),
        "traced_peak_mb": round(peak / 1e6, 1),
        "held_before_write_mb": round(sum(s.size for s in stats) / 1e6, 1),
        "peak_by_stage_mb": stage_peaks,
        "largest": [
            {
                "mb": round(s.size / 1e6, 1),
                "at": f"{s.traceback[0].filename.split('/')[-1]}:{s.traceback[0].lineno}",
            }
            for s in stats[:8]
        ],  # fmt: skip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2225, 6675, 13350])
    args = parser.parse_args()
    base = Embedder.load()
    embedder = RandomVectors(base.model, base.name, "fp32")
    measure(embedder, 100)  # first, the imports and caches of one small build, not counted
    results = [measure(embedder, n) for n in args.sizes]
    for r in results:
        line = f"{r['articles']} articles, {r['chunks']} chunks: traced peak"
        print(f"{line} {r['traced_peak_mb']} MB, held before the write", end=" ")
        print(f"{r['held_before_write_mb']} MB ({r['seconds']} s)")
    if len(results) > 1:
        a, b = results[0], results[-1]
        per = (b["held_before_write_mb"] - a["held_before_write_mb"]) / (
            b["articles"] - a["articles"]
        )
        peak = (b["traced_peak_mb"] - a["traced_peak_mb"]) / (b["articles"] - a["articles"])
        print(f"held before the write grows {per * 1000:.1f} MB per 1,000 articles", end=", ")
        print(f"the traced peak {peak * 1000:.1f} MB")
    out = ROOT / "benchmarks" / "results" / "build_python_memory.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
