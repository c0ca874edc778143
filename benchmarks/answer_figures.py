"""The answer figures of docs/figures.md, measured on the current code (`make eval`).

    python benchmarks/answer_figures.py            # run every set, write results, the table
    python benchmarks/answer_figures.py --table    # rewrite the table from the results only

Each set is asked with the shipped settings (hybrid, the reader, its fitted threshold) over an
index cached by `qa eval`. `benchmarks/results/answers/NAME.json` keeps the figures with what
made them: the commit (and whether `qa/` had uncommitted changes), a hash of the index
manifest, and hashes of the reader, its confidence and the fitted feature model. The table in
docs/figures.md between the `answers` markers is rendered from those files only, and
tests/test_figures.py fails when the two disagree.

"Held out" sets were never fitted or tuned on; "looked at" sets were: the dev sets' test halves
(the retrieval constants were chosen on the dev sets) and the sets scored while choosing
between versions of the answer code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from qa.answer import fitted, reader
from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import answer_figures, code_version, ensure_index, marks, run_queries
from qa.eval.intervals import LEVEL, answer_intervals, stored
from qa.eval.report import with_interval
from qa.index import store

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "answers"
PAGE = ROOT / "docs" / "figures.md"
BEGIN, END = "<!-- answers:begin (make eval) -->", "<!-- answers:end -->"
# name: (folder, split, status). Order is the table's.
SETS = {
    "bbc-test": ("eval/bbc-test", "all", "held out"),
    "bbc-fresh2": ("eval/bbc-fresh2", "all", "held out"),
    "seed-fresh2": ("eval/seed-fresh2", "all", "held out"),
    "seed-in-bbc": ("eval/seed-in-bbc", "all", "held out"),
    "bbc-fresh3": ("eval/bbc-fresh3", "all", "held out"),
    "seed-fresh3": ("eval/seed-fresh3", "all", "held out"),
    "seed-fresh3-in-bbc": ("eval/seed-fresh3-in-bbc", "all", "held out"),
    "bbc-fresh4": ("eval/bbc-fresh4", "all", "held out"),
    "seed-fresh4": ("eval/seed-fresh4", "all", "held out"),
    "seed-fresh4-in-bbc": ("eval/seed-fresh4-in-bbc", "all", "held out"),
    "bbc-fresh5": ("eval/bbc-fresh5", "all", "held out"),
    "seed-fresh5": ("eval/seed-fresh5", "all", "held out"),
    "seed-fresh5-in-bbc": ("eval/seed-fresh5-in-bbc", "all", "held out"),
    "bbc-fresh6": ("eval/bbc-fresh6", "all", "held out"),
    "seed-fresh6": ("eval/seed-fresh6", "all", "held out"),
    "seed-fresh6-in-bbc": ("eval/seed-fresh6-in-bbc", "all", "held out"),
    "bbc-fresh7": ("eval/bbc-fresh7", "all", "held out"),
    "bbc-fresh8": ("eval/bbc-fresh8", "all", "held out"),
    "seed-fresh7": ("eval/seed-fresh7", "all", "held out"),
    "seed-fresh7-in-bbc": ("eval/seed-fresh7-in-bbc", "all", "held out"),
    "seed-fresh8": ("eval/seed-fresh8", "all", "held out"),
    "seed-fresh8-in-bbc": ("eval/seed-fresh8-in-bbc", "all", "held out"),
    "seed-fresh9": ("eval/seed-fresh9", "all", "held out"),
    "seed-fresh9-in-bbc": ("eval/seed-fresh9-in-bbc", "all", "held out"),
    "seed-fresh10": ("eval/seed-fresh10", "all", "held out"),
    "seed-fresh10-in-bbc": ("eval/seed-fresh10-in-bbc", "all", "held out"),
    "seed-fresh11": ("eval/seed-fresh11", "all", "held out"),
    "seed-fresh11-in-bbc": ("eval/seed-fresh11-in-bbc", "all", "held out"),
    "seed-fresh12": ("eval/seed-fresh12", "all", "held out"),
    "seed-fresh12-in-bbc": ("eval/seed-fresh12-in-bbc", "all", "held out"),
    "seed-test": ("eval/seed-test", "all", "looked at"),
    "seed-dev-test": ("eval/seed", "test", "looked at"),
    "bbc-dev-test": ("eval/bbc-dev", "test", "looked at"),
    "seed-fresh": ("eval/seed-fresh", "all", "looked at"),
    "bbc-fresh": ("eval/bbc-fresh", "all", "looked at"),
}
INTERVALS = (
    f"In brackets, the {LEVEL:.0%} bootstrap interval over the set's questions "
    "(`qa.eval.intervals`): a figure that moves less than that may have moved by chance."
)
COLUMNS = (
    ("quoted", "quoted"),
    ("single_quoted", "single"),
    ("multi_quoted", "two-article"),
    ("quoted_as_answer", "as answer"),
    ("null_abstain_rate", "unanswerable not answered"),
    ("auroc", "AUROC"),
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def measure(name: str, embedder: Embedder) -> dict[str, object]:
    folder, split, status = SETS[name]
    data = load_dataset(ROOT / folder, split)
    settings, _ = ensure_index(Settings(), data, embedder)
    outcomes = run_queries(Engine.load(settings, embedder), data.queries, "hybrid", 10)
    found = marks(outcomes)
    return {
        "set": name, "folder": folder, "split": split, "status": status,
        "command": "python benchmarks/answer_figures.py", **(code_version() or {}),
        "index_manifest": hashlib.sha256(
            json.dumps(store.read_manifest(settings.index), sort_keys=True).encode()
        ).hexdigest()[:16],
        "models": {
            "embedding": embedder.name,
            "reader": sha256(reader.FOLDER / "reader.onnx"),
            "reader_confidence": sha256(reader.FOLDER / "reader.json"),
            "fitted": sha256(fitted.MODEL_FILE),
        },
        "figures": answer_figures(outcomes),
        "intervals": answer_intervals(found),
        "marks": stored(found),  # per question, for `benchmarks/compare_answers.py`
    }  # fmt: skip


def table(results: list[dict]) -> str:
    """The markdown table of `results`, in `SETS` order."""
    head = "| set | status | questions: single + two-article + unanswerable | " + " | ".join(
        title for _, title in COLUMNS
    )
    lines = [head + " |", "|" + "---|" * (len(COLUMNS) + 3)]
    for r in sorted(results, key=lambda r: list(SETS).index(r["set"])):
        f = r["figures"]
        counts = f"{f['n_single']} + {f['n_multi']} + {f['n_unanswerable']}"
        cells = [with_interval(f[key], r["intervals"][key]) for key, _ in COLUMNS]
        lines.append(f"| {r['set']} | {r['status']} | {counts} | " + " | ".join(cells) + " |")
    stamps = sorted({(r["commit"], r["qa_changed"]) for r in results})
    made = ", ".join(c + (" with changes to qa/" if changed else "") for c, changed in stamps)
    return "\n".join([*lines, "", f"Made at {made} by `make eval`. {INTERVALS}"])


def rendered(page: str, results: list[dict]) -> str:
    """`page` with the block between the markers replaced by the table of `results`."""
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    return page[:start] + "\n" + table(results) + "\n" + page[end:]


def read_results() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("*.json"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="only rewrite the table")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    args = parser.parse_args()
    if not args.table:
        RESULTS.mkdir(parents=True, exist_ok=True)
        s = Settings()
        embedder = Embedder.load(s.model, s.precision, s.query_runtime, s.model_cache)
        for name in args.sets:
            result = measure(name, embedder)
            out = RESULTS / f"{name}.json"
            out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            print(f"{name}: {json.dumps({k: result['figures'][k] for k, _ in COLUMNS})}")
    PAGE.write_text(rendered(PAGE.read_text(encoding="utf-8"), read_results()), encoding="utf-8")
    print(f"table written to {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
