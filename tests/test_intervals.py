"""Bootstrap intervals of the answer figures: they hold the figure, shrink with more questions,
resample only the questions a figure is a share of, and are the same from run to run."""

from __future__ import annotations

import json
from dataclasses import replace

from qa.eval.datasets import Evidence, Query
from qa.eval.evaluation import Outcome, answer_figures, auroc, marks
from qa.eval.intervals import answer_intervals, differences, loaded, stored

FACT = "Shares in Solidere fell 15% in renewed trading in Beirut."


def _outcome(right: bool | None, confidence: float, answered: bool) -> Outcome:
    """An answerable question quoted rightly or not, or (right is None) an unanswerable one."""
    evidence = () if right is None else (Evidence("a", FACT),)
    query = Query("q", "?", "t", None if right is None else "15%", evidence)
    quote = FACT if right else "Shares in Solidere fell in Beirut."
    outcome = "answer" if answered else "closest"
    return Outcome(query, [], [], outcome, "", [("a", quote)], confidence, 1.0, 2.0)


def _intervals(outcomes: list[Outcome]) -> dict:
    return answer_intervals(marks(outcomes))


def _set(times: int) -> list[Outcome]:
    """Per copy: 3 answerable questions quoted rightly of 4, 2 unanswerable left unanswered of
    3, confidences that rank most answerable questions above the unanswerable ones."""
    one = [
        _outcome(True, 0.9, True),
        _outcome(True, 0.8, True),
        _outcome(True, 0.4, False),
        _outcome(False, 0.5, False),
        _outcome(None, 0.7, True),
        _outcome(None, 0.3, False),
        _outcome(None, 0.2, False),
    ]
    return one * times


def test_each_interval_holds_its_figure_and_shrinks_with_more_questions() -> None:
    small, large = _set(3), _set(30)
    figures, narrow, wide = answer_figures(large), _intervals(large), _intervals(small)
    for key in ("quoted", "single_quoted", "quoted_as_answer", "null_abstain_rate", "auroc"):
        low, high = narrow[key]
        assert low <= figures[key] <= high, key
        assert high - low < wide[key][1] - wide[key][0], key
    assert figures["auroc"] == auroc(large)


def test_a_figure_without_questions_has_no_interval_and_a_unanimous_one_is_a_point() -> None:
    answerable_only = [_outcome(True, 0.9, True), _outcome(True, 0.8, True)]
    found = _intervals(answerable_only)
    assert found["null_abstain_rate"] is None and found["auroc"] is None
    assert found["multi_quoted"] is None  # no two-article question
    assert found["quoted"] == [1.0, 1.0]  # every question right: no draw differs
    one_unanswerable = _intervals([*answerable_only, _outcome(None, 0.1, False)])
    assert one_unanswerable["auroc"] is None  # one question of a kind: nothing to draw
    assert one_unanswerable["null_abstain_rate"] == [1.0, 1.0]


def test_only_the_questions_a_figure_counts_are_drawn() -> None:
    """More unanswerable questions leave the quoted figure's interval as it was."""
    base = _set(5)
    more = base + [_outcome(None, 0.1, False)] * 20
    before, after = _intervals(base), _intervals(more)
    assert before["quoted"] == after["quoted"]
    assert before["null_abstain_rate"] != after["null_abstain_rate"]


def test_the_same_outcomes_give_the_same_intervals() -> None:
    assert _intervals(_set(4)) == _intervals(_set(4))


def _numbered(outcomes: list[Outcome]) -> list:
    return [replace(m, id=f"q{i}") for i, m in enumerate(marks(outcomes))]


def test_a_run_against_itself_differs_by_nothing() -> None:
    run = _numbered(_set(10))
    found = differences(run, run)
    assert found.pop("multi_quoted")["difference"] is None  # no two-article questions
    for name, figure in found.items():
        assert figure["difference"] == 0.0 and figure["interval"] == [0.0, 0.0], name


def test_a_few_questions_turned_right_is_a_change_beyond_chance_where_it_belongs() -> None:
    old = _numbered(_set(20))  # 20 of the 80 answerable questions not quoted
    turned = {m.id for m in old if m.answerable and not m.quoted}
    new = [replace(m, quoted=True) if m.id in turned else m for m in old]
    found = differences(old, new)
    assert found["quoted"]["old"] == 0.75 and found["quoted"]["new"] == 1.0
    low, high = found["quoted"]["interval"]
    assert 0 < low <= 0.25 <= high
    assert found["null_abstain_rate"]["difference"] == 0.0  # no unanswerable question moved
    assert found["multi_quoted"]["interval"] is None  # neither run has two-article questions


def test_only_the_questions_both_runs_asked_are_compared() -> None:
    old = _numbered(_set(10))
    new = [replace(m, id="new-" + m.id) for m in old[:5]] + old[5:]
    found = differences(old, new)
    rest = answer_intervals(old[5:])
    assert found["quoted"]["new"] == found["quoted"]["old"]
    assert rest["quoted"][0] <= found["quoted"]["old"] <= rest["quoted"][1]


def test_marks_kept_in_a_results_file_read_back_the_same() -> None:
    run = _numbered(_set(2))
    assert loaded(json.loads(json.dumps(stored(run)))) == run


def test_a_kind_with_one_question_is_in_every_draw() -> None:
    """One answerable question among unanswerable ones: it is quoted in every draw of the new
    run, so the change of the quoted figure is certain."""
    old = _numbered(
        [_outcome(False, 0.5, False), _outcome(None, 0.2, False), _outcome(None, 0.3, True)]
    )
    new = [replace(old[0], quoted=True), *old[1:]]
    found = differences(old, new)
    assert found["quoted"]["difference"] == 1.0 and found["quoted"]["interval"] == [1.0, 1.0]
    low, high = found["null_abstain_rate"]["interval"]
    assert low == high == 0.0  # the unanswerable ones, drawn, did not change
