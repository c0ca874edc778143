"""Two readers on the labelled traces kept out of training, in one run.

    python train/compare_readers.py qa/answer/models /tmp/new-reader  # folders holding reader.onnx

The labelled traces of `train/reader/traces/` whose article `train/pairs.py` keeps for
checking: sentences the product read for questions of tune articles no reader was trained on,
each labelled by reading. Per reader: the AUROC over the pairs; pick@1, for the questions with an
answering candidate, whether the reader's best is one; and the AUROC of the best logit of a
question, questions with an answering candidate against those without one (what the answer's
confidence leans on).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pairs import checking, labelled_traces  # noqa: E402
from train_reader import auroc  # noqa: E402

from qa.answer import reader  # noqa: E402


def kept_traces() -> dict[str, list[dict]]:
    """The kept-out labelled traces, by question."""
    found: dict[str, list[dict]] = {}
    for t in labelled_traces():
        if checking(t["group"]):
            found.setdefault(t["qid"], []).append(t)
    return found


def figures(folder: Path, traces: dict[str, list[dict]]) -> dict[str, float]:
    model = reader.load("reader", folder)
    labels, logits, best, answered, picks = [], [], [], [], []
    for rows in traces.values():
        passages = [(r["title"], r["sentence"], r["before"]) for r in rows]
        x = model.logits(rows[0]["question"], passages)
        y = np.array([r["label"] for r in rows])
        labels += list(y)
        logits += list(x)
        best.append(float(x.max()))
        answered.append(int(y.any()))
        if y.any():
            picks.append(int(y[int(np.argmax(x))]))
    return {
        "questions": len(traces),
        "pairs": len(labels),
        "pair_auroc": round(auroc(np.array(labels), np.array(logits)), 4),
        "pick@1": round(float(np.mean(picks)), 4),
        "question_auroc": round(auroc(np.array(answered), np.array(best)), 4),
    }


def main() -> None:
    traces = kept_traces()
    for folder in sys.argv[1:] or [str(reader.FOLDER)]:
        print(folder, figures(Path(folder), traces))


if __name__ == "__main__":
    main()
