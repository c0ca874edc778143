"""Calibrate the abstention threshold: precision/recall of answering, per question set.

    python benchmarks/calibrate.py QUESTIONS.jsonl --index DIR [--corpus PATH]

For every question it records the best sentence score and whether the top answer quotes the
gold evidence; then it sweeps the threshold and prints, for each value, how many answerable
questions are answered (and answered right) and how many unanswerable ones abstain.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from qa.answer import score_sentences  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.retrieval import search  # noqa: E402


def quotes_evidence(answer, evidence: list[dict]) -> bool:
    """True when a cited quote and a gold fact share text (one holds the other)."""
    return any(
        c.article_id == ev["article_id"] and (c.quote in ev["fact"] or ev["fact"] in c.quote)
        for c in answer.citations
        for ev in evidence
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--json", type=Path, help="write the rows and the sweep here")
    args = parser.parse_args()

    engine = Engine.load(Settings(index=args.index).with_(abstain_below=-1.0))
    rows = []
    for line in args.questions.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        query = engine.embedder.encode_query(q["question"])
        hits = search(engine.index, query, engine.settings.top_k)
        best = score_sentences(q["question"], query, hits, engine.index, engine.scoring)
        answer = engine.ask(q["question"])
        rows.append(
            {
                "id": q["id"],
                "type": q["type"],
                "answerable": bool(q["evidence"]),
                "score": best[0].score if best else 0.0,
                "right": bool(q["evidence"]) and quotes_evidence(answer, q["evidence"]),
            }
        )
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable")
    print("threshold  answered  right-when-answered  abstained(unanswerable)  precision")
    sweep = []
    for t in np.arange(0.30, 0.70, 0.02):
        answered = [r for r in answerable if r["score"] >= t]
        right = [r for r in answered if r["right"]]
        abstained = [r for r in unanswerable if r["score"] < t]
        wrongly = len(unanswerable) - len(abstained)
        precision = len(answered) / max(1, len(answered) + wrongly)
        sweep.append(
            {
                "threshold": round(float(t), 2),
                "answered_rate": len(answered) / max(1, len(answerable)),
                "right_rate": len(right) / max(1, len(answerable)),
                "abstain_rate": len(abstained) / max(1, len(unanswerable)),
                "precision": precision,
            }
        )
        s = sweep[-1]
        print(
            f"  {t:.2f}     {s['answered_rate']:.2f}       {s['right_rate']:.2f}"
            f"                 {s['abstain_rate']:.2f}                 {precision:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "sweep": sweep}, indent=1) + "\n")


if __name__ == "__main__":
    main()
