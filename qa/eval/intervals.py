"""How far an answer figure could move by chance: bootstrap intervals over the questions.

Our held-out sets hold 20 to 180 questions of a kind, so one question is 0.5 to 5 points.
Two readers, or two settings, are told apart only when their figures differ by more than
chance allows; a target missed by less than its interval is not yet shown to be missed.

- `answer_intervals`: each figure of one run with its interval. Each figure resamples only the
  questions it is a share of (the unanswerable ones for "unanswerable not answered";
  answerable and unanswerable apart for the AUROC, so every draw keeps the set's make-up).
- `differences`: two runs over the same questions, the new figure less the old with the
  interval of that difference. The questions are drawn once for both runs (a paired
  bootstrap; each kind of question apart), so a change that moves a few questions one way is
  told from noise far sooner than by comparing two intervals.

Both use `scipy.stats.bootstrap`'s percentile method: the figures are shares of a few dozen
yes/no answers, where BCa's corrections are undefined as often as not. A run is kept as its
`Mark`s (one per question, `evaluation.marks`) beside the figures, so a later run can be
compared with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

LEVEL = 0.95
DRAWS = 2000
SEED = 20  # the same marks give the same intervals
FIGURES = ("quoted", "single_quoted", "multi_quoted", "quoted_as_answer", "null_abstain_rate",
           "auroc")  # fmt: skip


@dataclass(frozen=True)
class Mark:
    """What one question gave, as far as the answer figures go."""

    id: str
    answerable: bool
    single: bool  # its answer is in one article (answerable questions only)
    quoted: bool  # the gold answer in the quotes shown ("answer" or "closest")
    answered: bool  # the outcome is "answer"
    confidence: float


def stored(found: Sequence[Mark]) -> list[dict[str, Any]]:
    return [asdict(m) for m in found]


def loaded(rows: Sequence[dict[str, Any]]) -> list[Mark]:
    return [Mark(**row) for row in rows]


def answer_intervals(found: Sequence[Mark]) -> dict[str, list[float] | None]:
    """The `LEVEL` interval, [low, high], of each of `FIGURES`; None where the figure has no
    questions (or, for the AUROC, fewer than two answerable or unanswerable ones)."""
    c = _Columns(found)
    intervals = {
        name: _interval((values[among],), _mean) for name, (values, among) in _shares(c).items()
    }
    auroc = _interval((c.confidence[c.answerable], c.confidence[~c.answerable]), _auroc)
    return {name: intervals[name] if name in intervals else auroc for name in FIGURES}


def differences(old: Sequence[Mark], new: Sequence[Mark]) -> dict[str, dict[str, Any]]:
    """For each of `FIGURES`: old, new, new − old and the `LEVEL` interval of that difference
    over the questions both runs asked (None where a run has no such questions)."""
    from scipy.stats import bootstrap

    new_by_id = {m.id: m for m in new}
    common = [m.id for m in old if m.id in new_by_id]
    a = _Columns([m for m in old if m.id in new_by_id])
    b = _Columns([new_by_id[i] for i in common])
    rng = np.random.default_rng(SEED)
    # a kind of question with one question cannot be drawn from: it is in every draw
    strata = _strata(a)
    drawable = [rows for rows in strata if len(rows) > 1]
    fixed = [rows for rows in strata if len(rows) == 1]
    found: dict[str, dict[str, Any]] = {}
    for name in FIGURES:
        before, after = _figure(name, a), _figure(name, b)
        if before is None or after is None:
            found[name] = {"old": before, "new": after, "difference": None, "interval": None}
            continue

        def change(*drawn: np.ndarray, name: str = name) -> float:
            rows = np.concatenate([*drawn, *fixed])
            x, y = _figure(name, a.take(rows)), _figure(name, b.take(rows))
            return np.nan if x is None or y is None else y - x  # as answer: none quoted

        low = high = after - before
        if drawable:
            drawn = bootstrap(
                drawable, change, n_resamples=DRAWS, confidence_level=LEVEL,
                method="percentile", vectorized=False, rng=rng,
            )  # fmt: skip
            tail = 50 * (1 - LEVEL)  # the percentile method, over the draws that have a figure
            low, high = np.nanpercentile(drawn.bootstrap_distribution, [tail, 100 - tail])
        found[name] = {"old": round(before, 4), "new": round(after, 4),
                       "difference": round(after - before, 4),
                       "interval": [round(float(low), 4), round(float(high), 4)]}  # fmt: skip
    return found


class _Columns:
    """The marks as one array per field, for drawing rows."""

    def __init__(self, found: Sequence[Mark]) -> None:
        self.answerable = np.array([m.answerable for m in found], bool)
        self.single = np.array([m.single for m in found], bool)
        self.quoted = np.array([m.quoted for m in found], bool)
        self.answered = np.array([m.answered for m in found], bool)
        self.confidence = np.array([m.confidence for m in found], float)

    def take(self, rows: np.ndarray) -> _Columns:
        taken = object.__new__(_Columns)
        for field, values in vars(self).items():
            setattr(taken, field, values[rows])
        return taken


def _strata(c: _Columns) -> tuple[np.ndarray, ...]:
    """The rows of each kind of question (single-article, two-article, unanswerable), drawn
    apart so that every draw keeps the set's make-up and every figure its questions."""
    kinds = [c.answerable & c.single, c.answerable & ~c.single, ~c.answerable]
    return tuple(np.flatnonzero(kind) for kind in kinds if kind.any())


def _shares(c: _Columns) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each of `FIGURES` but the AUROC, as `evaluation.answer_figures` defines it: the share of
    the rows `among` whose `values` hold."""
    return {
        "quoted": (c.quoted, c.answerable),
        "single_quoted": (c.quoted, c.answerable & c.single),
        "multi_quoted": (c.quoted, c.answerable & ~c.single),
        "quoted_as_answer": (c.answered, c.answerable & c.quoted),
        "null_abstain_rate": (~c.answered, ~c.answerable),
    }


def _figure(name: str, c: _Columns) -> float | None:
    """One of `FIGURES` of the rows of `c`; None where it has no questions."""
    if name == "auroc":
        pos, neg = c.confidence[c.answerable], c.confidence[~c.answerable]
        return float(_auroc(pos, neg)) if len(pos) and len(neg) else None
    values, among = _shares(c)[name]
    return float(values[among].mean()) if among.any() else None


def _interval(samples: tuple[np.ndarray, ...], statistic: Callable) -> list[float] | None:
    from scipy.stats import bootstrap

    samples = tuple(np.asarray(s, float) for s in samples)
    if any(len(s) == 0 for s in samples) or (statistic is _auroc and min(map(len, samples)) < 2):
        return None  # nothing to draw from (the AUROC of one unanswerable question)
    if statistic is _mean and np.ptp(samples[0]) == 0:
        value = float(samples[0][0])  # every question alike: no draw can differ
        return [value, value]
    found = bootstrap(
        samples, statistic, n_resamples=DRAWS, confidence_level=LEVEL, method="percentile",
        vectorized=True, rng=np.random.default_rng(SEED),
    )  # fmt: skip
    low, high = found.confidence_interval
    return [round(float(low), 4), round(float(high), 4)]


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _auroc(pos: np.ndarray, neg: np.ndarray, axis: int = -1) -> np.ndarray:
    """The chance a random answerable question's confidence beats an unanswerable one's
    (ties half), for each resample along the leading axes."""
    pos, neg = np.moveaxis(pos, axis, -1), np.moveaxis(neg, axis, -1)
    above = (pos[..., :, None] > neg[..., None, :]).mean(axis=(-2, -1))
    tied = (pos[..., :, None] == neg[..., None, :]).mean(axis=(-2, -1))
    return above + 0.5 * tied
