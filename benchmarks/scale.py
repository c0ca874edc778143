"""The FAISS index kinds of `qa.index.ann` from 100,000 to 1,000,000 realistic vectors.

    python benchmarks/scale.py [--sizes 100000 1000000] [--kinds flat hnsw ivf] [--queries 1000]

**Vectors.** Real MiniLM sentence vectors (the late-chunked `sentences.npy` of the RealTime QA
and BBC indexes that `qa eval` caches under `.cache/eval/`; run `qa eval eval/bbc-dev` and
`qa eval ../shared/eval/realtimeqa` first), about 290,000 of them; past that, perturbed copies
of random real ones (unit noise scaled to a cosine of about 0.9 with the original: near-duplicate
paragraphs, as a newsroom archive has), never uniform noise. **Queries**: real questions (BBC
and RealTime QA, up to `--queries`, distinct) encoded by the model.

For each size and kind, in a fresh process each (so peak memory is its own): build seconds,
index bytes on disk, peak RSS of the build and of a serving process (the index read back as
`qa` reads it, memory-mapped where FAISS can, then searched), single-query p50/p95 at k=10 on
this machine's threads, and recall@10 against exact search, at each search knob (HNSW
`efSearch`, IVF `nprobe`). Writes `benchmarks/results/scale.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / ".cache" / "scale"
SOURCES = ("realtimeqa-*", "bbc-news-*")
KNOBS = {"flat": [None], "hnsw": [32, 64, 128, 256], "ivf": [8, 16, 32, 64, 128]}
NOISE_COSINE = 0.9


def real_vectors() -> np.ndarray:
    """Every cached sentence vector of the RealTime QA and BBC eval indexes, float32 unit rows."""
    parts = []
    for pattern in SOURCES:
        for folder in sorted((ROOT / ".cache" / "eval").glob(pattern)):
            current = folder / "CURRENT"
            if current.is_file():
                gen = folder / current.read_text().strip()
                parts.append(np.load(gen / "sentences.npy", mmap_mode="r"))
                break
    if not parts:
        raise SystemExit(
            "No cached eval index: run `qa eval eval/bbc-dev` and "
            "`qa eval ../shared/eval/realtimeqa` first (their sentence vectors are the data)."
        )
    x = np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def corpus(n: int, real: np.ndarray) -> Path:
    """`n` vectors on disk: the real ones first, then perturbed copies of random real ones."""
    path = WORK / f"vectors-{n}.npy"
    if path.is_file():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, real.shape[1]))
    take = min(n, len(real))
    out[:take] = real[rng.permutation(len(real))[:take]]
    sigma = np.sqrt(1 / NOISE_COSINE**2 - 1)  # |noise| for cos(v, v + noise) = NOISE_COSINE
    for start in range(take, n, 100_000):
        stop = min(n, start + 100_000)
        base = real[rng.integers(0, len(real), stop - start)]
        noise = rng.standard_normal(base.shape).astype(np.float32)
        noise *= sigma / np.linalg.norm(noise, axis=1, keepdims=True)
        v = base + noise
        out[start:stop] = v / np.linalg.norm(v, axis=1, keepdims=True)
    out.flush()
    return path


def query_vectors(count: int) -> np.ndarray:
    from qa.embed.embedding import Embedder
    from qa.eval.datasets import load_dataset

    texts = []
    for folder in (ROOT.parent / "shared" / "eval" / "realtimeqa", ROOT / "eval" / "bbc-test"):
        texts += [q.question for q in load_dataset(folder).queries]
    texts = list(dict.fromkeys(texts))[:count]
    return Embedder.load().encode_texts(texts)


def exact_top(path: Path, queries: np.ndarray, k: int = 10) -> np.ndarray:
    x = np.load(path, mmap_mode="r")
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.zeros((len(queries), k), np.int64)
    for start in range(0, len(x), 100_000):
        s = queries @ np.asarray(x[start : start + 100_000]).T
        i = np.arange(start, start + s.shape[1])
        all_s = np.concatenate([best_s, s], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(i, s.shape)], axis=1)
        top = np.argsort(-all_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(all_s, top, 1), np.take_along_axis(all_i, top, 1)
    return best_i


def _rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across the
    fork and exec that start a child)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _build(path: str, kind: str, out: str, queue) -> None:
    import faiss

    from qa.index import ann

    before = _rss_mb()
    x = np.load(path, mmap_mode="r")
    t = time.perf_counter()
    index = ann.build(ann.choose(kind, len(x)), x)
    seconds = time.perf_counter() - t
    faiss.write_index(index, out)
    queue.put({"build_s": round(seconds, 1), "build_peak_rss_mb": round(_rss_mb() - before)})


def _serve(out: str, queries: np.ndarray, truth: np.ndarray, kind: str, queue) -> None:
    from qa.index import ann

    before = _rss_mb()
    index = ann.read(Path(out))
    rows = []
    for knob in KNOBS[kind]:
        ann.configure(index, ef_search=knob or 0, nprobe=knob or 0)
        for q in queries[:20]:  # warm the pages and caches a serving process has warm
            index.search(q[None], 10)
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None], 10)
            times.append((time.perf_counter() - t) * 1000)
            found.append(ids[0])
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
        rows.append(
            {
                "knob": knob,
                "p50_ms": round(float(np.percentile(times, 50)), 3),
                "p95_ms": round(float(np.percentile(times, 95)), 3),
                "recall@10": round(float(recall), 4),
            }
        )
    queue.put({"serve_peak_rss_mb": round(_rss_mb() - before), "search": rows})


def _in_child(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def markdown(runs: list[dict]) -> str:
    queries = runs[0].get("queries", "?") if runs else 0
    lines = [
        "# FAISS index kinds at scale (`python benchmarks/scale.py`)",
        "",
        f"{os.cpu_count()} cores. Real MiniLM sentence vectors plus perturbed copies (cosine "
        f"{NOISE_COSINE} to a real one); {queries} real questions as queries; k = 10; one "
        "query at a time. Memory is the peak RSS a process added over its start, against the "
        "raw float32 vectors.",
        "",
        "| vectors | kind | knob | build s | index MB | raw MB | build peak RSS MB | serve RSS "
        "MB (× raw) | p50 ms | p95 ms | recall@10 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        for s in r["search"]:
            knob = {"hnsw": "efSearch", "ivf": "nprobe"}.get(r["kind"], "")
            lines.append(
                f"| {r['n']:,} | {r['kind']} | {knob} {s['knob'] or ''} | {r['build_s']} | "
                f"{r['index_mb']} | {r['raw_mb']} | {r['build_peak_rss_mb']} | "
                f"{r['serve_peak_rss_mb']} ({r['serve_peak_rss_mb'] / r['raw_mb']:.2f}×) | "
                f"{s['p50_ms']} | {s['p95_ms']} | {s['recall@10']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["flat", "hnsw", "ivf"])
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    real = real_vectors()
    queries = query_vectors(args.queries)
    print(f"{len(real)} real vectors, {len(queries)} queries", flush=True)
    runs = []
    for n in args.sizes:
        path = corpus(n, real)
        truth = exact_top(path, queries)
        for kind in args.kinds:
            out = WORK / f"index-{n}-{kind}.faiss"
            built = _in_child(_build, str(path), kind, str(out))
            served = _in_child(_serve, str(out), queries, truth, kind)
            run = {
                "n": n,
                "queries": len(queries),
                "kind": kind,
                "raw_mb": round(n * queries.shape[1] * 4 / 2**20),
                "index_mb": round(out.stat().st_size / 2**20),
                **built,
                **served,
            }
            print(json.dumps(run), flush=True)
            runs.append(run)
            out.unlink()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "scale.md").write_text(markdown(runs), encoding="utf-8")
    print(markdown(runs))


if __name__ == "__main__":
    main()
