"""Where "on the topic" should start: the best passage's cosine as a z-score against the index's
off-topic background (`qa.index.calibration`), for answerable and unanswerable tune questions.

    python benchmarks/topic_threshold.py

`qa.answer.compose.TOPIC_Z` decides between the outcomes "closest" and "none": under it nothing is
quoted. A right answer must not be hidden behind "none", so this prints, for several values,
the share of answerable questions whose shown quotes hold the gold answer that would lose them,
and the share of unanswerable and off-topic questions that get "none". Tune halves and tune
sets only (`fit_answer.TUNE`); off-topic questions are `OFF_TOPIC` below, written for this.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from fit_answer import ROOT, TUNE

from qa.answer.compose import Policy, compose
from qa.answer.engine import Engine
from qa.answer.features import analyse, term_weights
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import ensure_index, is_right
from qa.index.calibration import TYPICAL

OFF_TOPIC = (
    "What is the boiling point of water at sea level?",
    "How many legs does a spider have?",
    "Who painted the ceiling of the Sistine Chapel?",
    "What is the chemical symbol for gold?",
    "How do I bake sourdough bread?",
    "What is the tallest mountain in Africa?",
    "Which planet has the most moons?",
    "What language is spoken in Brazil?",
    "How long does it take light from the Sun to reach Earth?",
    "Who wrote Pride and Prejudice?",
    "What is the square root of 144?",
    "How do you change a flat tyre?",
    "What is photosynthesis?",
    "Which ocean is the deepest?",
    "What year did the Titanic sink?",
    "How many strings does a violin have?",
)
VALUES = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def rows(spec: str, settings: Settings, embedder: Embedder) -> list[tuple[str, float, bool]]:
    """(kind, z, named) per tune question and off-topic question: kind is right (an answerable
    one whose quotes hold the gold answer), missed (answerable, not held), un(answerable), off;
    named: the question names something and the passages hold every name it gives."""
    path, _, split = spec.partition(":")
    data = load_dataset(ROOT / path, split or "all")
    queries = data.queries
    cached, _ = ensure_index(settings, data, embedder)
    engine = Engine.load(cached, embedder)
    background = engine.index.background or TYPICAL
    offer = Policy(threshold=-np.inf)
    found = []
    for question, query in [(q.question, q) for q in queries] + [(q, None) for q in OFF_TOPIC]:
        vector, hits = engine.search(question, engine.settings.top_k)
        z = background.z(max((h.dense for h in hits), default=-1.0))
        answer = compose(question, vector, hits, engine.index, offer)
        keys = analyse(question, term_weights(engine.index)).keys
        named = bool(keys) and not answer.confidence.missing_keys
        if query is None:
            found.append(("off", z, named))
            continue
        quotes = [(c.article_id, c.quote) for c in answer.citations]
        kind = ("right" if is_right(query, quotes) else "missed") if query.answerable else "un"
        found.append((kind, z, named))
    return found


def main() -> None:
    embedder = Embedder.load()
    settings = Settings()
    print("share with z under each value (the outcome would be none)")
    print("set | kind | n | " + " | ".join(f"z<{v}" for v in VALUES) + " | median z")
    for name in TUNE[:-1]:  # RealTime QA: its index takes a quarter of an hour to build
        found = rows(name, settings, embedder)
        name = name.rsplit("/", 1)[-1]
        for kind in ("right", "missed", "un", "off"):
            zs = np.array([z for k, z, _ in found if k == kind])
            named = np.array([n for k, _, n in found if k == kind])
            if not len(zs):
                continue
            alone = " | ".join(f"{np.mean(zs < v):.2f}" for v in VALUES)
            both = " | ".join(f"{np.mean((zs < v) & ~named):.2f}" for v in VALUES)
            print(f"{name} | {kind} | {len(zs)} | {alone} | {np.median(zs):.2f}")
            print(f"{name} | {kind}, unless named | {len(zs)} | {both} | {np.mean(named):.2f}")


if __name__ == "__main__":
    main()
