from pathlib import Path

import numpy as np
import pytest

from qa.embedding import Embedder, resolve_model
from qa.errors import ModelUnavailable


def test_late_chunking_matches_plain_encoding(embedder: Embedder) -> None:
    texts = [
        "Kazakhstan unrest\nTokayev asked Putin for help. Russian troops arrived in Almaty.",
        "Time Warner profits jumped 76%. AOL lost subscribers.",
        "One short sentence.",
    ]
    spans = [[(18, 47), (48, 83)], [(0, 31), (32, 53)], [(0, 19)]]
    late = embedder.encode_documents(texts, spans, batch_size=2)
    plain = embedder.encode_texts(texts)
    assert late.vectors.dtype == np.float32 and late.vectors.shape == (3, embedder.dim)
    np.testing.assert_allclose(late.vectors, plain, atol=1e-5)
    assert [v.shape for v in late.span_vectors] == [(2, 384), (2, 384), (1, 384)]
    np.testing.assert_allclose(np.linalg.norm(late.span_vectors[0], axis=1), 1.0, atol=1e-5)


def test_sentence_vectors_point_at_their_own_sentence(embedder: Embedder) -> None:
    text = "Tokayev asked Putin for military help. The football final ended in a draw."
    doc = embedder.encode_documents([text], [[(0, 38), (39, len(text))]])
    q = embedder.encode_query("Who did the president ask for troops?")
    scores = doc.span_vectors[0] @ q[0]
    assert scores[0] > scores[1]


def test_query_is_one_unit_row(embedder: Embedder) -> None:
    q = embedder.encode_query("anything")
    assert q.shape == (1, embedder.dim) and q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1) < 1e-5


def test_count_tokens_has_no_special_tokens(embedder: Embedder) -> None:
    assert embedder.count_tokens(["hello world", ""]) == [2, 0]
    assert embedder.max_tokens == 256


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailable, match="QA_MODEL"):
        Embedder.load("/nonexistent/model-folder")
    assert (Path(resolve_model("all-MiniLM-L6-v2")) / "config.json").is_file()
