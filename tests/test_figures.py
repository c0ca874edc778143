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
