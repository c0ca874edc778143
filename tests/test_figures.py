"""The answer figures in docs/figures.md are the ones `make eval` wrote, for the models shipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from qa.answer import fitted, reader

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location(
        "answer_figures", ROOT / "benchmarks" / "answer_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_shows_the_table_the_results_make(figures) -> None:
    page = figures.PAGE.read_text(encoding="utf-8")
    results = figures.read_results()
    assert page == figures.rendered(page, results), (
        "docs/figures.md and benchmarks/results/answers/ disagree: run "
        "`python benchmarks/answer_figures.py --table` (or `make eval` to measure again)"
    )


def test_every_set_has_results_stamped_with_what_made_them(figures) -> None:
    results = {r["set"]: r for r in figures.read_results()}
    assert set(results) == set(figures.SETS)
    for name, result in results.items():
        assert result["status"] == figures.SETS[name][2]
        assert result["commit"] and result["index_manifest"]
        assert result["figures"]["n_answerable"] > 0
        assert set(result["intervals"]) == {key for key, _ in figures.COLUMNS}


def test_the_results_are_of_the_models_shipped(figures) -> None:
    """A retrained reader, a refitted confidence or feature model makes these figures stale."""
    shipped = {
        "reader": figures.sha256(reader.FOLDER / "reader.onnx"),
        "reader_confidence": figures.sha256(reader.FOLDER / "reader.json"),
        "fitted": figures.sha256(fitted.MODEL_FILE),
    }
    for result in figures.read_results():
        made_with = {k: result["models"][k] for k in shipped}
        assert made_with == shipped, f"{result['set']}: run `make eval` for the shipped models"


def test_a_changed_figure_shows_as_a_disagreement(figures) -> None:
    page = figures.PAGE.read_text(encoding="utf-8")
    results = figures.read_results()
    results[0]["figures"]["quoted"] = 0.0 if results[0]["figures"]["quoted"] else 1.0
    assert figures.rendered(page, results) != page


def test_two_runs_compare_question_by_question(figures, tmp_path) -> None:
    """`benchmarks/compare_answers.py` against a run where eight quoted questions were not:
    the quoted figure moved beyond chance, the unanswerable one did not move."""
    import json
    import subprocess
    import sys

    result = json.loads((figures.RESULTS / "seed-fresh2.json").read_text(encoding="utf-8"))
    quoted = [m for m in result["marks"] if m["quoted"]]
    assert len(quoted) >= 8
    for mark in quoted[:8]:
        mark["quoted"] = False
    (tmp_path / "seed-fresh2.json").write_text(json.dumps(result), encoding="utf-8")
    compare = [sys.executable, str(ROOT / "benchmarks" / "compare_answers.py"), str(tmp_path)]
    shown = subprocess.run([*compare, "--sets", "seed-fresh2"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    rows = {line.split(" | ")[1]: line for line in shown.stdout.splitlines()[2:]}
    assert rows["quoted"].endswith("| yes |") and "+0.200" in rows["quoted"]
    assert rows["unanswerable not answered"].endswith("| no |")
    missing = subprocess.run([*compare, "--sets", "bbc-test"], capture_output=True, text=True)
    assert missing.returncode == 1 and "skipped" in missing.stderr
