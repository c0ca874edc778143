"""fp32 against bf16 encoding, in one run: speed, agreement of the vectors, and answer quality.

    python benchmarks/precision.py [--articles 150] [--eval eval/bbc-test ...] [--no-eval]

1. **Build speed**: the chunks of the first `--articles` BBC articles encoded with late
   chunking (`Embedder.encode_documents`, what a build runs), fp32 and bf16 taking turns twice,
   so drift of the machine's load falls on both; chunks per second and the ratio.
2. **Agreement**: cosine between the fp32 and bf16 vector of every chunk and of every sentence
   (the late-chunked sentence vectors the answers are scored with), and the overlap of the
   top-10 chunks of BBC questions searched in each.
3. **One question**: encoding a single text, p50 and p95 in each precision, taking turns (why
   questions are encoded in fp32 whatever the index's precision: `Embedder.encode_query`).
4. **Quality**: `qa eval` of each dataset in both precisions (each its own cached index; a
   bf16 index is built the first time, which takes minutes on RealTime QA).

Prints the figures and writes `benchmarks/results/precision.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embed.embedding import Embedder, bf16_supported
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import evaluate_dataset
from qa.index.indexing import chunk_corpus
from qa.ingest.corpus import read_corpus

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
EVAL = ("eval/bbc-test", "eval/seed-test", "../shared/eval/realtimeqa:test")
METRICS = ("hit@1", "hit@4", "mrr@10", "ndcg@10")
ANSWERS = ("right", "answerable_answer_rate", "null_abstain_rate", "answer_contains_gold")


def encode_speed(fp32: Embedder, bf16: Embedder, texts: list[str], spans: list) -> dict:
    """Chunks per second of each, alternating fp32, bf16, fp32, bf16; and the vectors."""
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    vectors = {}
    for embedder in (fp32, bf16, fp32, bf16):
        t = time.perf_counter()
        vectors[embedder.precision] = embedder.encode_documents(texts, spans)
        seconds[embedder.precision].append(time.perf_counter() - t)
    rate = {p: len(texts) / min(s) for p, s in seconds.items()}
    return {
        "chunks": len(texts),
        "chunks_per_second": {p: round(r, 1) for p, r in rate.items()},
        "speedup_bf16": round(rate["bf16"] / rate["fp32"], 3),
        "_vectors": vectors,
    }


def agreement(fp32_docs, bf16_docs, fp32: Embedder, bf16: Embedder, questions: list[str]) -> dict:
    chunk_cos = (fp32_docs.vectors * bf16_docs.vectors).sum(axis=1)
    pairs = zip(fp32_docs.span_vectors, bf16_docs.span_vectors, strict=True)
    sent_cos = np.concatenate([(a * b).sum(axis=1) for a, b in pairs])
    overlap = []
    for q in questions:
        top = [np.argsort(-(d.vectors @ e.encode_query(q)[0]))[:10] for d, e in
               ((fp32_docs, fp32), (bf16_docs, bf16))]  # fmt: skip
        overlap.append(len(set(top[0]) & set(top[1])) / 10)
    return {
        "chunk_cosine_mean": round(float(chunk_cos.mean()), 6),
        "chunk_cosine_min": round(float(chunk_cos.min()), 6),
        "sentence_cosine_mean": round(float(sent_cos.mean()), 6),
        "sentence_cosine_min": round(float(sent_cos.min()), 6),
        "sentences": int(len(sent_cos)),
        "top10_overlap": round(float(np.mean(overlap)), 4),
        "questions": len(questions),
    }


def question_latency(fp32: Embedder, bf16: Embedder, questions: list[str]) -> dict:
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for q in questions[:5]:  # warm both
        fp32.encode_texts([q]), bf16.encode_texts([q])
    for q in questions:
        for embedder in (fp32, bf16):
            t = time.perf_counter()
            embedder.encode_texts([q])
            times[embedder.precision].append((time.perf_counter() - t) * 1000)
    return {
        p: {"p50_ms": round(statistics.median(v), 2), "p95_ms": round(np.percentile(v, 95), 2)}
        for p, v in times.items()
    }


def quality(specs: list[str]) -> list[dict]:
    rows = []
    for spec in specs:
        folder, _, split = spec.partition(":")
        dataset = load_dataset(ROOT / folder, split or "all")
        for precision in ("fp32", "bf16"):
            settings = Settings.from_env().with_(precision=precision)
            embedder = Embedder.load(settings.model, precision)
            t = time.perf_counter()
            (result,) = evaluate_dataset(settings, dataset, ["hybrid"], embedder=embedder)
            article = result["metrics"]["article"] or {}
            row = {
                "dataset": f"{dataset.name}" + (f":{split}" if split else ""),
                "precision": precision,
                **{m: _round(article.get(m)) for m in METRICS},
                **{a: _round(result["answer"].get(a)) for a in ANSWERS},
                "seconds": round(time.perf_counter() - t, 1),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def markdown(result: dict) -> str:
    speed, agree, latency = result["speed"], result["agreement"], result["question"]
    lines = [
        "# fp32 against bf16 (`python benchmarks/precision.py`)",
        "",
        f"CPU bfloat16 instructions: {result['bf16_supported']}. One run, turns taken.",
        "",
        f"- Build encoding ({speed['chunks']} BBC chunks, late chunking): fp32 "
        f"{speed['chunks_per_second']['fp32']} chunks/s, bf16 {speed['chunks_per_second']['bf16']}"
        f" chunks/s: **{speed['speedup_bf16']}×**.",
        f"- Vectors: chunk cosine bf16↔fp32 mean {agree['chunk_cosine_mean']} (min "
        f"{agree['chunk_cosine_min']}); late-chunked sentence vectors mean "
        f"{agree['sentence_cosine_mean']} (min {agree['sentence_cosine_min']}, "
        f"{agree['sentences']} sentences); top-10 overlap {agree['top10_overlap']} over "
        f"{agree['questions']} questions.",
        f"- One question: fp32 p50 {latency['fp32']['p50_ms']} ms / p95 "
        f"{latency['fp32']['p95_ms']} ms; bf16 p50 {latency['bf16']['p50_ms']} ms / p95 "
        f"{latency['bf16']['p95_ms']} ms.",
    ]
    if result["quality"]:
        head = ["dataset", "precision", *METRICS, *ANSWERS]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in result["quality"]:
            lines.append("| " + " | ".join(str(row.get(h)) for h in head) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--eval", nargs="*", default=list(EVAL), help="DIR[:SPLIT] ...")
    parser.add_argument("--no-eval", action="store_true")
    args = parser.parse_args()
    os.chdir(ROOT)
    settings = Settings.from_env()
    fp32 = Embedder.load(settings.model, "fp32")
    bf16 = Embedder(fp32.model, fp32.name, "bf16")  # emulated where the CPU lacks it
    articles = read_corpus(BBC).articles[: args.articles]
    _, texts, spans = chunk_corpus(articles, settings, fp32, lambda *a: None)
    questions = [q.question for q in load_dataset(ROOT / "eval" / "bbc-test").queries][:200]

    speed = encode_speed(fp32, bf16, texts, spans)
    vectors = speed.pop("_vectors")
    result = {
        "bf16_supported": bf16_supported(),
        "speed": speed,
        "agreement": agreement(vectors["fp32"], vectors["bf16"], fp32, bf16, questions),
        "question": question_latency(fp32, bf16, questions),
        "quality": [] if args.no_eval else quality(args.eval),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "precision.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    (RESULTS / "precision.md").write_text(markdown(result), "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
