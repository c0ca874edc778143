"""The fitted weights that turn `qa.answer.features` rows into scores: two logistic regressions.

`answer_model.json` (beside this file) is written by `benchmarks/fit_answer.py` from the tune
halves of the question sets, never from a test set; it records what it was fitted on and its
cross-validated figures. `sentence` scores each sentence (how likely it holds the answer),
`confidence` each answer (how likely it is right); `threshold` is the probability under which an
answer abstains, `margin` and `part_margin` say how close to the best sentence another quote
must score (in logits) to be quoted too, and for a sentence from another article that holds a
part of the question the best one lacks.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelUnavailable

MODEL_FILE = Path(__file__).with_name("answer_model.json")
FORMAT = 2  # 2: records the embedding model, the feature code's digest and the data's
REFIT = "run `make refit` (benchmarks/fit_answer.py, then the reader's confidence) to fit it again"


@dataclass(frozen=True)
class Linear:
    """A logistic regression over standardised features: `logit(x) = ((x[..., columns] - mean)
    / scale) @ coef + intercept`, `columns` picking the fitted features out of all computed."""

    features: tuple[str, ...]
    columns: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        """One logit per row of `x` (or a float for one row)."""
        return ((x[..., self.columns] - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    @classmethod
    def from_json(cls, data: dict[str, Any], computed: tuple[str, ...]) -> Linear:
        unknown = [f for f in data["features"] if f not in computed]
        if unknown:
            raise ModelUnavailable(
                f"{MODEL_FILE.name} was fitted on features this code does not make ({unknown}): "
                "run `python benchmarks/fit_answer.py` to refit it."
            )
        as_array = functools.partial(np.asarray, dtype=np.float32)
        return cls(
            tuple(data["features"]),
            np.array([computed.index(f) for f in data["features"]], dtype=np.int64),
            as_array(data["mean"]),
            as_array(data["scale"]),
            as_array(data["coef"]),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class AnswerModel:
    sentence: Linear
    confidence: Linear
    threshold: float  # answer when the confidence (a probability) is at least this
    margin: float
    part_margin: float
    fitted: dict[str, Any]  # what it was fitted on, and its cross-validated figures


@functools.cache
def load(path: Path = MODEL_FILE) -> AnswerModel:
    """The model shipped with the package (read once)."""
    from qa.answer.features import CONFIDENCE, SENTENCE

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelUnavailable(
            f"The answer model {path} cannot be read ({error}): reinstall the package, or run "
            "`python benchmarks/fit_answer.py` to fit it again."
        ) from None
    _check_made_by_this_code(data, path)
    return AnswerModel(
        sentence=Linear.from_json(data["sentence"], SENTENCE),
        confidence=Linear.from_json(data["confidence"], CONFIDENCE),
        threshold=float(data["threshold"]),
        margin=float(data["margin"]),
        part_margin=float(data["part_margin"]),
        fitted=data.get("fitted", {}),
    )


def _check_made_by_this_code(data: dict[str, Any], path: Path) -> None:
    """Refuse a model of another format, or fitted on features other code made."""
    from qa.answer.features import code_digest

    if data.get("format") != FORMAT:
        raise ModelUnavailable(
            f"The answer model {path.name} is of format {data.get('format')!r}, this code reads "
            f"{FORMAT}: {REFIT}."
        )
    made_by = data.get("fitted", {}).get("feature_code")
    if made_by != code_digest():
        raise ModelUnavailable(
            f"The answer model {path.name} was fitted on features made by other code "
            f"({made_by}, this code is {code_digest()}): {REFIT}."
        )


def check_embedding_model(model: AnswerModel, embedding_model: str) -> None:
    """Refuse to weigh cosines of another embedding model than the one the model was fitted
    with: its weights mean nothing there."""
    fitted_with = model.fitted.get("embedding_model")
    if fitted_with != embedding_model:
        raise ModelUnavailable(
            f"The answer model was fitted with the embedding model {fitted_with!r}, this index "
            f"uses {embedding_model!r}: {REFIT} with QA_MODEL={embedding_model}, or unset QA_MODEL."
        )
