"""Keyword retrieval: BM25 (bm25s) over each chunk's text with its article's headline.

Dense vectors miss exact names, numbers and rare words; BM25 finds them. Words are lower-cased,
English stopwords dropped and Snowball-stemmed (PyStemmer), the same for chunks and questions.
The index lives in the generation folder as bm25s' own plain files (`bm25/`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PARAMS = {"k1": 1.5, "b": 0.75, "method": "lucene", "stemmer": "english", "stopwords": "en"}


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(PARAMS["stemmer"])


def keyword_text(title: str, chunk_text: str) -> str:
    """What BM25 indexes for a chunk: the headline gives every passage the story's names."""
    return f"{title}\n{chunk_text}"


def build(texts: Sequence[str]) -> Any:
    """A BM25 index over `texts`; row i of the index is text i (the chunk row)."""
    import bm25s

    tokens = bm25s.tokenize(
        list(texts), stopwords=PARAMS["stopwords"], stemmer=_stemmer(), show_progress=False
    )
    model = bm25s.BM25(k1=PARAMS["k1"], b=PARAMS["b"], method=PARAMS["method"])
    model.index(tokens, show_progress=False)
    return model


def save(model: Any, folder: Path) -> None:
    model.save(str(folder), show_progress=False)


def load(folder: Path) -> Any:
    import bm25s

    return bm25s.BM25.load(str(folder), mmap=False)


def scores(model: Any, question: str) -> np.ndarray:
    """The BM25 score of every chunk for the question, `(n_chunks,)` float32 (0 = no match)."""
    import bm25s

    words = bm25s.tokenize(
        [question],
        stopwords=PARAMS["stopwords"],
        stemmer=_stemmer(),
        return_ids=False,
        show_progress=False,
    )[0]
    known = [w for w in words if w in model.vocab_dict]
    if not known:
        return np.zeros(model.scores["num_docs"], dtype=np.float32)
    return np.asarray(model.get_scores(known), dtype=np.float32)
