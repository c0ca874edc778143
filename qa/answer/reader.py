"""The reader: a cross-encoder of our own that reads a question and one sentence (with its
article's headline) and gives the probability that the sentence answers the question.

Trained from the shipped MiniLM checkpoint on question data written from tune-half articles
(`train/`, `train/reader/README.md`), exported to ONNX and quantised to int8 (`qa/answer/models/`,
23 MB, in the repository). Its metadata says what it was trained from and on; a file of another
format is refused with the command that makes it again. It reads with ONNX Runtime and the
checkpoint's own tokenizer, both offline.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelUnavailable

FOLDER = Path(__file__).with_name("models")
FORMAT = 1
REMAKE = "python train/pairs.py && python train/train_reader.py"
# What the answer's confidence reads, with the reader's logit of its best sentence: whether a
# name or number of the question is missing from the passages, and how far the best passage
# stands above the index's off-topic background (a z-score, clipped). Their weights and the
# threshold are fitted on tune sets by `benchmarks/reader_compare.py tune` (`reader.json`).
SIGNALS = ("logit", "missing", "z")


def passage(title: str, sentence: str, before: str = "") -> str:
    """What the reader reads beside the question: the headline, the sentence and, for a reader
    trained with context, the sentence before it (after a separator, so that a long one is cut
    first), which says who "he" or "the firm" of the sentence is."""
    return f"{title}. {sentence}" + (f" [SEP] {before}" if before else "")


@dataclass(frozen=True)
class Reader:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer, truncating the sentence side and padding
    meta: dict[str, Any]

    @property
    def context(self) -> bool:
        """Whether it was trained to read the sentence before each sentence."""
        return bool(self.meta.get("context"))

    def logits(self, question: str, passages: Sequence[tuple[str, str, str]]) -> np.ndarray:
        """One logit per (headline, sentence, the sentence before it): how likely the sentence
        answers `question`."""
        if not passages:
            return np.zeros(0, np.float32)
        texts = [passage(t, s, b if self.context else "") for t, s, b in passages]
        encoded = self.tokenizer.encode_batch([(question, text) for text in texts])
        feed = {
            "input_ids": np.array([e.ids for e in encoded], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], np.int64),
        }
        return self.session.run(["logit"], feed)[0].astype(np.float32).reshape(-1)

    def confidence(self, logit: float, missing: bool, z: float) -> float:
        """The probability that the best sentence answers, from the reader and the passages."""
        fitted = self.meta["confidence"]
        x = np.array([logit, float(missing), float(np.clip(z, -3.0, 10.0))])
        return float(1.0 / (1.0 + np.exp(-(x @ np.array(fitted["coef"]) + fitted["intercept"]))))

    @property
    def threshold(self) -> float:
        """The confidence at which the outcome is "answer"."""
        return float(self.meta["confidence"]["threshold"])


def _check_confidence(confidence: dict[str, Any], folder: Path) -> None:
    """Refuse a confidence fitted for other signals, or over sentences that other feature code
    or another answer model chose for the reader to read."""
    from qa.answer import fitted
    from qa.answer.features import code_digest

    if confidence.get("signals") != list(SIGNALS):
        raise ModelUnavailable(
            f"The reader in {folder} has no confidence fitted for the signals {SIGNALS}: "
            "python benchmarks/reader_compare.py tune."
        )
    answer_model = hashlib.sha256(fitted.MODEL_FILE.read_bytes()).hexdigest()[:16]
    made_with = (confidence.get("feature_code"), confidence.get("answer_model"))
    if made_with != (code_digest(), answer_model):
        raise ModelUnavailable(
            f"The reader's confidence in {folder} was fitted with other feature code or another "
            f"answer model ({made_with}, now {(code_digest(), answer_model)}): run `make refit`."
        )


@functools.cache
def load(name: str = "reader", folder: Path = FOLDER) -> Reader:
    """A model shipped in `models/` (read once): the reader, or the `checker` of the language
    model's claims (the same network, trained on (claim, excerpt) pairs)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from qa.config import DEFAULT_MODEL
    from qa.embed.embedding import resolve_model

    checker = (
        " --pairs train/reader/claim-pairs.jsonl --name checker --max-length 192 --epochs 6"
        " --bucket && python benchmarks/claim_check.py --fit qa/answer/models --keep 0.8"
    )
    remake = REMAKE + (checker if name == "checker" else "")
    try:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelUnavailable(
            f"The {name} in {folder} cannot be read ({error}): {remake}."
        ) from None
    if meta.get("format") != FORMAT:
        raise ModelUnavailable(
            f"The {name} in {folder} is of format {meta.get('format')!r}, this code reads "
            f"{FORMAT}: {remake}."
        )
    if name == "reader":
        _check_confidence(meta.get("confidence", {}), folder)
    options = ort.SessionOptions()
    # every core, as the question encoder (`onnx_queries`): on 2 cores 8 pairs read in 39 ms
    # against 53 on one; no spinning between questions, their threads would hold the cores
    options.intra_op_num_threads = os.cpu_count() or 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(
            str(folder / f"{name}.onnx"), options, providers=["CPUExecutionProvider"]
        )
    except (RuntimeError, OSError) as error:  # onnxruntime's errors are RuntimeErrors
        raise ModelUnavailable(
            f"The {name} in {folder} cannot be loaded ({error}): {remake}."
        ) from None
    # the checkpoint it was trained from, whatever QA_MODEL embeds with
    tokenizer = Tokenizer.from_file(str(Path(resolve_model(DEFAULT_MODEL)) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=int(meta["max_length"]), strategy="longest_first")
    tokenizer.enable_padding()
    return Reader(session, tokenizer, meta)
