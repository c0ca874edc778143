"""Answers written by the bundled small model (QA_LLM=smollm2) against the extractive ones.

    python benchmarks/llm_answers.py [--n 20]

Over the answerable questions of eval/seed-test and the first N of eval/bbc-dev (each over its
`qa eval` cached index), every question is answered extractively and with the model. Prints how
often the model's answer passed the citation check (mode "llm"), why the others fell back, and
how often each way holds the gold answer in its text. Writes benchmarks/results/llm_answers.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from qa.answer import llm
from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import ensure_index

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="BBC dev questions")
    args = parser.parse_args()
    settings = Settings.from_env().with_(precision="fp32")
    embedder = Embedder.load(settings.model, "fp32", settings.query_runtime, settings.model_cache)
    generate = llm.from_settings(Settings(llm="smollm2"))
    results = {}
    for name, limit in (("seed-test", None), ("bbc-dev", args.n)):
        dataset = load_dataset(ROOT / "eval" / name)
        cached, _ = ensure_index(settings, dataset, embedder)
        extractive = Engine.load(cached, embedder)
        written = replace(extractive, generate=generate)
        queries = [q for q in dataset.queries if q.answerable and q.answer][:limit]
        rows, seconds = [], []
        for q in queries:
            plain = extractive.ask(q.question)
            t = time.perf_counter()
            by_model = written.ask(q.question)
            seconds.append(time.perf_counter() - t)
            rows.append({
                "question": q.question,
                "gold": q.answer,
                "mode": by_model.mode,
                "notes": list(by_model.notes),
                "extractive_right": q.answer.casefold() in plain.text.casefold(),
                "llm_right": q.answer.casefold() in by_model.text.casefold(),
                "llm_text": by_model.text,
            })  # fmt: skip
        passed = [r for r in rows if r["mode"] == "llm"]
        why = Counter(r["notes"][0].split(" (")[0] for r in rows if r["mode"] != "llm")
        results[name] = {
            "questions": len(rows),
            "passed_check": len(passed),
            "extractive_right": sum(r["extractive_right"] for r in rows),
            "with_llm_right": sum(r["llm_right"] for r in rows),
            "llm_right_where_it_passed": sum(r["llm_right"] for r in passed),
            "fallback_reasons": dict(why),
            "seconds_per_question": round(sum(seconds) / max(len(seconds), 1), 2),
            "rows": rows,
        }
        r = results[name]
        print(
            f"{name}: {r['questions']} questions; the model's answer passed the check "
            f"{r['passed_check']}; right: extractive {r['extractive_right']}, with the model "
            f"{r['with_llm_right']} (of those that passed: {r['llm_right_where_it_passed']}); "
            f"{r['seconds_per_question']} s per question; fell back because {dict(why)}"
        )
    out = ROOT / "benchmarks" / "results" / "llm_answers.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
