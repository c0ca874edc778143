"""Calibrate the abstention threshold: precision and recall of answering and of abstaining.

    python benchmarks/calibrate.py QUESTIONS.jsonl --index DIR [--mode hybrid] [--name NAME]

Every question goes through the chat's own retrieval and `qa.answer` (as `Engine.ask` does) with
abstention switched off, and its confidence (`qa.answer.confidence`: the best sentence score less
the penalty for the question's names and numbers that no retrieved passage mentions) is recorded
with whether the answer quotes the gold evidence (`qa.evaluation.quote_overlaps`). Then the
threshold is swept: at each value, "answer" is predicted for confidence >= threshold, and the
script prints the precision and recall of "answer" (positives: answerable questions) and of
"abstain" (positives: unanswerable ones), and how many single-article questions are answered
right. The chosen point is `Settings.abstain_below` (QA_ABSTAIN_BELOW, or --threshold).

Writes `benchmarks/results/calibration_NAME.{md,json,png}`: the table, the rows and the curves.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from qa.answer import compose, confidence, score_sentences  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import quote_overlaps  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def quotes_evidence(answer, evidence: list[dict]) -> bool:
    """True when a cited quote overlaps a gold fact of the same article (as `qa eval` counts)."""
    return any(
        c.article_id == ev["article_id"] and quote_overlaps(c.quote, ev["fact"])
        for c in answer.citations
        for ev in evidence
        if ev.get("fact")
    )


def measure(engine: Engine, questions: list[dict], mode: str) -> list[dict]:
    """One row per question: its confidence, the signals in it, and whether it was right."""
    scoring = engine.scoring  # abstain_below is -inf here: every question gets an answer
    rows = []
    for q in questions:
        query, hits = engine.search(q["question"], engine.settings.top_k, mode=mode)
        candidates = score_sentences(q["question"], query, hits, engine.index, scoring)
        conf = confidence(q["question"], candidates, hits, engine.index, scoring)
        answer = compose(q["question"], query, hits, engine.index, scoring)
        rows.append(
            {
                "id": q["id"],
                "type": q["type"],
                "answerable": bool(q["evidence"]),
                "confidence": conf.value,
                "best": conf.best,
                "missing_keys": list(conf.missing_keys),
                "right": bool(q["evidence"]) and quotes_evidence(answer, q["evidence"]),
            }
        )
    return rows


def point(rows: list[dict], threshold: float) -> dict:
    """Precision and recall of answering and of abstaining when answering at >= threshold."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    single = [r for r in rows if r["type"] == "single"]
    answered = [r for r in rows if r["confidence"] >= threshold]
    abstained = [r for r in rows if r["confidence"] < threshold]
    ans_ok = sum(r["answerable"] for r in answered)
    abs_ok = sum(not r["answerable"] for r in abstained)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "threshold": round(float(threshold), 4),
        "answer_precision": ratio(ans_ok, len(answered)),
        "answer_recall": ratio(ans_ok, len(answerable)),  # = answerable answered
        "abstain_precision": ratio(abs_ok, len(abstained)),
        "abstain_recall": ratio(abs_ok, len(unanswerable)),  # = unanswerable abstained
        "right": ratio(
            sum(r["right"] and r["confidence"] >= threshold for r in answerable), len(answerable)
        ),
        "single_right": ratio(
            sum(r["right"] and r["confidence"] >= threshold for r in single), len(single)
        ),
    }


def sweep(rows: list[dict], lo: float = 0.30, hi: float = 0.80, step: float = 0.02) -> list[dict]:
    return [point(rows, t) for t in np.arange(lo, hi + step / 2, step)]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(curve: list[dict], chosen: dict) -> str:
    head = (
        "| threshold | answer precision | answer recall (answerable answered) | abstain "
        "precision | abstain recall (unanswerable abstained) | answerable right | single right |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for p in [*curve, chosen]:
        mark = " **(chosen)**" if p is chosen else ""
        lines.append(
            f"| {p['threshold']:.2f}{mark} | {_fmt(p['answer_precision'])} | "
            f"{_fmt(p['answer_recall'])} | {_fmt(p['abstain_precision'])} | "
            f"{_fmt(p['abstain_recall'])} | {_fmt(p['right'])} | {_fmt(p['single_right'])} |"
        )
    return head + "\n".join(lines) + "\n"


def plot(curve: list[dict], chosen: dict, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [p["threshold"] for p in curve]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in (
        ("answer_precision", "answer: precision", "-"),
        ("answer_recall", "answer: recall", "--"),
        ("abstain_precision", "abstain: precision", "-"),
        ("abstain_recall", "abstain: recall", "--"),
    ):
        left.plot(t, [np.nan if p[key] is None else p[key] for p in curve], style, label=label)
    left.axvline(chosen["threshold"], color="grey", lw=0.8)
    left.set_xlabel("abstain_below (confidence threshold)")
    left.set_ylim(0, 1.02)
    left.legend(fontsize=8, loc="lower left")
    left.set_title("precision / recall over thresholds")
    right.plot([p["answer_recall"] for p in curve], [p["abstain_recall"] or 0 for p in curve], ".-")
    right.plot([chosen["answer_recall"]], [chosen["abstain_recall"] or 0], "o", color="red")
    right.annotate(
        f"abstain_below={chosen['threshold']:.2f}",
        (chosen["answer_recall"], chosen["abstain_recall"] or 0),
        textcoords="offset points",
        xytext=(-120, -15),
        fontsize=8,
    )
    right.set_xlabel("answerable questions answered")
    right.set_ylabel("unanswerable questions abstained")
    right.set_title("the trade-off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("questions", type=Path, help="JSONL: id, question, type, evidence")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--mode", default="hybrid", help="retrieval mode (default: hybrid)")
    parser.add_argument("--name", help="results name (default: the questions' folder or stem)")
    parser.add_argument("--threshold", type=float, help="the chosen point (default: setting)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args()

    settings = Settings.from_env().with_(index=args.index)
    chosen_t = settings.abstain_below if args.threshold is None else args.threshold
    engine = Engine.load(settings.with_(abstain_below=float("-inf")))
    mode = args.mode if args.mode in engine.modes else "dense"
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    rows = measure(engine, questions, mode)
    curve = sweep(rows)
    chosen = point(rows, chosen_t)
    name = args.name or (
        args.questions.parent.name if args.questions.stem == "queries" else args.questions.stem
    )
    n_ans = sum(r["answerable"] for r in rows)
    title = (
        f"{name}: {n_ans} answerable, {len(rows) - n_ans} unanswerable questions, "
        f"mode {mode}, top_k {settings.top_k}"
    )
    text = f"# Abstention calibration: {title}\n\n" + table(curve, chosen)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"calibration_{name}"
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    report = {"name": name, "mode": mode, "chosen": chosen, "sweep": curve, "rows": rows}
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    plot(curve, chosen, title, stem.with_suffix(".png"))
    print(f"wrote {stem}.md, .json and .png")


if __name__ == "__main__":
    main()
