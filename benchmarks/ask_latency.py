"""`ask` latency with the model and index loaded: p50/p95 per retrieval mode, in-process.

    python benchmarks/ask_latency.py [--index DIR] [--questions FILE] [--n 50] [--modes A,B]
    python benchmarks/ask_latency.py --reader-ab     # hybrid without the reader, then with it

With `--reader-ab` it also times the chat's first streamed quote (`qa.surfaces.ui.stream`, with the
reader): from the question to the first yield that shows a quote.

The modes are timed in one run, question by question in turn (dense, then hybrid, then the next
question), so a busy machine slows them alike; the figure to trust is the ratio of each mode's
p50 to the first mode's. Writes benchmarks/results/ask_latency.json. Goals on the BBC index:
dense p50 <= 30 ms; hybrid p50 <= 1.5 x dense p50.
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("embed", "retrieve", "parts", "answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, help="default: the qa eval cache of eval/bbc-dev")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval/bbc-dev/queries.jsonl")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--modes", default="dense,hybrid", help="comma-separated; first = base")
    parser.add_argument("--reader-ab", action="store_true", help="hybrid without/with the reader")
    args = parser.parse_args()

    index = args.index or cache_folder(Settings(), load_dataset(ROOT / "eval" / "bbc-dev"))
    if not (index / "CURRENT").is_file():
        sys.exit(f"No index at {index}: run `qa eval eval/bbc-dev` (or run_all.py) first.")
    engine = Engine.load(Settings(index=index))
    if args.reader_ab:
        reader_ab(engine, index, args)
        return
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    lines = args.questions.read_text(encoding="utf-8").splitlines()[: args.n]
    questions = [json.loads(line)["question"] for line in lines]
    for mode in modes:
        engine.ask(questions[0], mode=mode)  # warm-up: first call pays one-time allocations
    totals: dict[str, list[float]] = {m: [] for m in modes}
    stages: dict[str, dict[str, list[float]]] = {m: {s: [] for s in STAGES} for m in modes}
    for q in questions:
        for mode in modes:
            t = time.perf_counter()
            answer = engine.ask(q, mode=mode)
            totals[mode].append((time.perf_counter() - t) * 1000)
            for key in STAGES:
                stages[mode][key].append(answer.timings_ms[key])
    base = float(np.percentile(totals[modes[0]], 50))
    result = {
        "index": index.name,
        "chunks": engine.index.faiss_index.ntotal,
        "questions": len(questions),
        "load_average": round(os.getloadavg()[0], 2),
        "modes": {
            mode: {
                "ask_ms_p50": round(float(np.percentile(totals[mode], 50)), 2),
                "ask_ms_p95": round(float(np.percentile(totals[mode], 95)), 2),
                "stage_ms_p50": {
                    k: round(float(np.percentile(v, 50)), 2) for k, v in stages[mode].items()
                },
                f"p50_ratio_to_{modes[0]}": round(float(np.percentile(totals[mode], 50)) / base, 3),
            }
            for mode in modes
        },
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "ask_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def reader_ab(engine: Engine, index: Path, args: argparse.Namespace) -> None:
    """p50 of `ask` (hybrid) without and with the reader, question by question in turn."""
    engines = {
        "fitted": Engine.load(Settings(index=index, reader=False), engine.embedder),
        "reader": engine,
    }
    lines = args.questions.read_text(encoding="utf-8").splitlines()[: args.n]
    questions = [json.loads(line)["question"] for line in lines]
    for e in engines.values():
        e.ask(questions[0])  # warm-up
    took: dict[str, list[float]] = {name: [] for name in engines}
    answer_ms: dict[str, list[float]] = {name: [] for name in engines}
    first_line: list[float] = []
    for q in questions:
        for name, e in engines.items():
            t = time.perf_counter()
            answer = e.ask(q)
            took[name].append((time.perf_counter() - t) * 1000)
            answer_ms[name].append(answer.timings_ms["answer"])
        first_line.append(_first_quote_ms(engine, q))
    result = {
        "index": index.name,
        "chunks": engine.index.faiss_index.ntotal,
        "questions": len(questions),
        "load_average": round(os.getloadavg()[0], 2),
        **{
            name: {
                "ask_ms_p50": round(float(np.percentile(took[name], 50)), 2),
                "ask_ms_p95": round(float(np.percentile(took[name], 95)), 2),
                "answer_stage_ms_p50": round(float(np.percentile(answer_ms[name], 50)), 2),
            }
            for name in engines
        },
        "chat_first_quote_ms_p50": round(float(np.percentile(first_line, 50)), 2),
        "chat_first_quote_ms_p95": round(float(np.percentile(first_line, 95)), 2),
        "p50_ratio_reader_to_fitted": round(
            float(np.percentile(took["reader"], 50) / np.percentile(took["fitted"], 50)), 3
        ),
    }
    print(json.dumps(result, indent=2))
    corpus = index.name.rsplit("-", 1)[0]  # the eval cache's folder, less its digest
    out = ROOT / "benchmarks" / "results" / f"reader_latency-{corpus}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def _first_quote_ms(engine: Engine, question: str) -> float:
    """Milliseconds from the question to the chat's first yield past the "looking" line."""
    from qa.surfaces import ui

    t = time.perf_counter()
    chat = ui.stream(engine.ask, question, [])
    next(chat)  # the question with its "looking" line
    next(chat)
    return (time.perf_counter() - t) * 1000


if __name__ == "__main__":
    main()
