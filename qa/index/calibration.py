"""Each index measures its own background: how close questions it cannot answer come to it.

A cosine of 0.45 between a question and its best passage means little by itself: on one article
an off-topic question scores about 0.05, on 3,600 broad news articles about 0.45, because a
large, varied corpus always holds something near any question. So at build and update time the
index is asked the off-topic questions of `probes.txt`, and the mean and spread of their best
passage cosine are kept in the manifest (`calibration`); the answer's confidence reads a
question's best cosine as a z-score against them (`qa.answer.features`), which means the same on 1
article and on 10,000.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from qa.embed.embedding import Embedder

PROBES_FILE = Path(__file__).with_name("probes.txt")


@functools.cache
def probes() -> tuple[str, ...]:
    lines = PROBES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class Background:
    """The best passage cosine of off-topic questions on one index: mean and spread."""

    mean: float
    std: float
    probes: int

    def z(self, cosine: float) -> float:
        return (cosine - self.mean) / max(self.std, 1e-3)

    def to_json(self) -> dict[str, Any]:
        return {"probes": self.probes, "max_cosine_mean": self.mean, "max_cosine_std": self.std}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Background:
        return cls(float(data["max_cosine_mean"]), float(data["max_cosine_std"]), data["probes"])


# For an index read without its manifest's calibration and with no embedder at hand (the
# figures of the 2,225 BBC articles); `Engine.load` measures the real one instead.
TYPICAL = Background(0.32, 0.12, 0)


def measure(vectors: np.ndarray, embedder: Embedder) -> Background:
    """Ask the probes of an index's chunk vectors (exact: the best cosine of each)."""
    if not len(vectors):
        return TYPICAL
    asked = _probe_vectors(embedder)
    best = np.empty(len(asked), dtype=np.float32)
    for start in range(0, len(vectors), 65536):  # bounded memory on a million rows
        block = (asked @ vectors[start : start + 65536].T).max(axis=1)
        best = block if start == 0 else np.maximum(best, block)
    return Background(round(float(best.mean()), 4), round(float(best.std()), 4), len(asked))


def _probe_vectors(embedder: Embedder) -> np.ndarray:
    key = id(embedder)
    if key not in _ENCODED:
        _ENCODED.clear()
        _ENCODED[key] = embedder.encode_texts(list(probes()))
    return _ENCODED[key]


_ENCODED: dict[int, np.ndarray] = {}  # the probes encoded by the embedder in use
