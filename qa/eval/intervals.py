"""How far an answer figure could move by chance: bootstrap intervals over the questions.

Our held-out sets hold 20 to 180 questions of a kind, so one question is 0.5 to 5 points.
Two readers, or two settings, are told apart only when their figures differ by more than
these intervals; a target missed by less than its interval is not yet shown to be missed.
Each figure resamples only the questions it is a share of (the unanswerable ones for
"unanswerable not answered"; answerable and unanswerable apart for the AUROC, so every draw
keeps the set's make-up), with `scipy.stats.bootstrap`'s percentile method: the figures are
shares of a few dozen yes/no answers, where BCa's corrections are undefined as often as not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.eval.evaluation import Outcome, is_right, single_article

LEVEL = 0.95
DRAWS = 2000
SEED = 20  # the same outcomes give the same intervals


def answer_intervals(outcomes: Sequence[Outcome]) -> dict[str, list[float] | None]:
    """The `LEVEL` interval, [low, high], of each figure the answer table shows; None where
    the figure has no questions (or, for the AUROC, no answerable or no unanswerable one)."""
    answerable = [o for o in outcomes if o.query.answerable]
    shown = np.array([is_right(o.query, o.shown) for o in answerable], float)
    single = np.array([single_article(o.query) for o in answerable], bool)
    given = np.array([not o.abstained for o in answerable], float)
    unanswerable = np.array([o.abstained for o in outcomes if not o.query.answerable], float)
    pos = np.array([o.confidence for o in answerable], float)
    neg = np.array([o.confidence for o in outcomes if not o.query.answerable], float)
    quoted = shown.astype(bool)
    return {
        "quoted": _interval((shown,), _mean),
        "single_quoted": _interval((shown[single],), _mean),
        "multi_quoted": _interval((shown[~single],), _mean),
        "quoted_as_answer": _interval((given[quoted],), _mean),
        "null_abstain_rate": _interval((unanswerable,), _mean),
        "auroc": _interval((pos, neg), _auroc) if len(pos) and len(neg) else None,
    }


def _interval(samples: tuple[np.ndarray, ...], statistic: Callable) -> list[float] | None:
    from scipy.stats import bootstrap

    if any(len(s) == 0 for s in samples):
        return None
    if all(len(s) == 1 or np.ptp(s) == 0 for s in samples) and statistic is _mean:
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
