"""How `benchmarks/claim_check.py` chooses the checker's threshold, on made-up logits."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import claim_check  # noqa: E402

# 10 faithful claims, one of them low, and 10 false ones, some high
LOGITS = np.array(
    [-1, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, -3, -2.5, -2, -1.5, -1.25, -0.5, 0, 0.5, 1.25, 2]
)
FAITHFUL = np.array([True] * 10 + [False] * 10)
SHARES = np.full(20, 0.8)
NONE_RULED_OUT = np.zeros(20, dtype=bool)


def shares_kept_and_dropped(threshold: float) -> tuple[float, float]:
    kept = LOGITS > threshold
    return kept[FAITHFUL].mean(), 1 - kept[~FAITHFUL].mean()


def test_keep_chooses_the_threshold_that_drops_most_while_keeping_that_share() -> None:
    balanced, _ = claim_check.choose(LOGITS, SHARES, FAITHFUL, NONE_RULED_OUT)
    assert shares_kept_and_dropped(balanced) == (0.9, 0.8)  # the best mean, one faithful lost
    keeping, _ = claim_check.choose(LOGITS, SHARES, FAITHFUL, NONE_RULED_OUT, keep=0.95)
    assert shares_kept_and_dropped(keeping) == (1.0, 0.5)  # every faithful one kept, at a cost
    assert shares_kept_and_dropped(keeping + 0.25)[0] < 0.95  # and no higher threshold keeps them


def test_the_floor_of_words_is_raised_only_where_it_costs_nothing() -> None:
    shares = SHARES.copy()
    shares[~FAITHFUL] = 0.3  # the false claims share few words with their excerpt
    _, floor = claim_check.choose(LOGITS, shares, FAITHFUL, NONE_RULED_OUT)
    assert 0.3 < floor <= 0.6  # drops every false claim, keeps every faithful one
    _, floor = claim_check.choose(LOGITS, SHARES, FAITHFUL, NONE_RULED_OUT)
    assert floor == 0.6  # all share 0.8: the most it may ask, 60 %, costs nothing
