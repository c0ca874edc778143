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


def test_bf16_vectors_agree_with_fp32(embedder: Embedder) -> None:
    """bf16 (emulated where the CPU lacks it, so this runs everywhere) gives float32 unit
    vectors that agree with fp32's for chunks, their sentences and questions."""
    bf16 = embedder.with_precision("bf16")
    if bf16.precision != "bf16":  # no bfloat16 instructions: force the emulated path
        bf16 = Embedder(embedder.model, embedder.name, "bf16")
    texts = [
        "Tokayev asked Putin for military help. Russian troops arrived in Almaty.",
        "Time Warner profits jumped 76% to $1.13bn in the three months to December.",
    ]
    spans = [[(0, 38), (39, 71)], [(0, 75)]]
    ref, low = embedder.encode_documents(texts, spans), bf16.encode_documents(texts, spans)
    assert low.vectors.dtype == np.float32
    assert (low.vectors * ref.vectors).sum(axis=1).min() > 0.999
    for a, b in zip(low.span_vectors, ref.span_vectors, strict=True):
        assert (a * b).sum(axis=1).min() > 0.999
    question = "Who did Tokayev ask for help?"
    assert (bf16.encode_query(question) @ embedder.encode_query(question).T).item() > 0.999
    assert embedder.with_precision("fp32") is embedder


def test_precision_is_resolved_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa import embedding
    from qa.errors import UsageError

    assert embedding.resolve_precision("fp32") == ("fp32", None)
    with pytest.raises(UsageError, match="auto, fp32, bf16"):
        embedding.resolve_precision("fp16")
    monkeypatch.setattr(embedding, "bf16_supported", lambda: True)
    assert embedding.resolve_precision("auto") == ("bf16", None)
    assert embedding.resolve_precision("bf16") == ("bf16", None)
    monkeypatch.setattr(embedding, "bf16_supported", lambda: False)
    assert embedding.resolve_precision("auto") == ("fp32", None)
    precision, note = embedding.resolve_precision("bf16")
    assert precision == "fp32" and "no bfloat16 instructions" in note
