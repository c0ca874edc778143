"""How much the reader's logit of a sentence depends on the other sentences of its ONNX batch.

    python benchmarks/reader_batch.py [SET ...]     # default: eval/seed-tune eval/bbc-tune

The shipped reader is quantised to int8 dynamically (`train/train_reader.py`): each MatMul's
input is scaled by its own range, measured over the whole batch, padding included. So a sentence
read beside others gets another logit than read alone. For each question of the sets, the
sentences the answer reads (`compose.READ_TOP`, the fitted model's best), read in one batch as
the product does and one at a time: the mean, 90th percentile and largest difference of a
sentence's two logits, and the share of questions whose best sentence differs. Tune sets by
default: the figures are about the reader, not about a set. Writes
benchmarks/results/reader_batch.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from qa.answer import compose, reader
from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import code_version, ensure_index

ROOT = Path(__file__).resolve().parents[1]
SETS = ("eval/seed-tune", "eval/bbc-tune")


def differences(folder: Path, embedder: Embedder) -> tuple[list[float], int, int]:
    """Every read sentence's |batch − alone| logit, the questions whose best sentence differs,
    and the questions."""
    data = load_dataset(folder, "all")
    cached, _ = ensure_index(Settings(), data, embedder)
    engine = Engine.load(cached, embedder)
    model = reader.load()
    articles = engine.index.data.articles
    found: list[float] = []
    differ = 0
    for q in data.queries:
        vector, hits = engine.search(q.question, engine.settings.top_k)
        scored = compose.score(q.question, vector, hits, engine.index)
        read = scored.order[: compose.READ_TOP]
        passages = [
            (articles[scored.sentences[i].hit.chunk.article_id].title, scored.sentences[i].text, "")
            for i in read
        ]
        together = model.logits(q.question, passages)
        alone = np.array([model.logits(q.question, [p])[0] for p in passages])
        found += np.abs(together - alone).tolist()
        differ += int(np.argmax(together) != np.argmax(alone))
    return found, differ, len(data.queries)


def main() -> None:
    embedder = Embedder.load()
    result: dict = {"commit": code_version(), "reader_onnx": reader.load().meta["onnx_sha256"]}
    for name in sys.argv[1:] or SETS:
        found, differ, questions = differences(ROOT / name, embedder)
        d = np.array(found)
        result[name] = {
            "sentences": len(d),
            "mean_abs_difference": round(float(d.mean()), 3),
            "p90_abs_difference": round(float(np.percentile(d, 90)), 3),
            "max_abs_difference": round(float(d.max()), 3),
            "best_sentence_differs": f"{differ} of {questions}",
        }
        print(name, json.dumps(result[name]), flush=True)
    out = ROOT / "benchmarks" / "results" / "reader_batch.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
