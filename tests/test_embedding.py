from pathlib import Path

import numpy as np
import pytest

from qa.embed.embedding import Embedder, resolve_model
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


def test_counting_copy_agrees_with_the_model_tokenizer(embedder: Embedder) -> None:
    """The counting copy never truncates or pads, and leaves the model's tokenizer as it was."""
    texts = [
        "Time Warner's profits jumped 76% to $1.13bn (£600m).",
        "naïve café – Zürich 東京 emoji 🙂 and\x0bcontrol\x85marks",
        " ".join(["word"] * 600),  # far over the window: counted whole, not cut at 256
        "",
    ]
    tokenizer = embedder.model.tokenizer
    before = tokenizer._tokenizer.truncation, tokenizer._tokenizer.padding
    counted = embedder.count_tokens(texts)
    assert (tokenizer._tokenizer.truncation, tokenizer._tokenizer.padding) == before
    expected = [len(i) for i in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert counted == expected
    assert expected[2] == 600


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailable, match="QA_MODEL"):
        Embedder.load("/nonexistent/model-folder")
    assert (Path(resolve_model("all-MiniLM-L6-v2")) / "config.json").is_file()


def test_bf16_vectors_agree_with_fp32(embedder: Embedder) -> None:
    """bf16 (emulated where the CPU lacks it, so this runs everywhere) gives float32 unit
    vectors that agree with fp32's for chunks, their sentences and questions."""
    bf16 = embedder.with_precision("bf16")
    if bf16.precision != "bf16":  # no bfloat16 instructions: force the emulated path
        bf16 = Embedder(embedder.model, embedder.name, "bf16", queries=embedder.queries)
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
    fp32_question = embedder.encode_query(question)
    assert np.array_equal(bf16.encode_query(question), fp32_question)  # questions: fp32 always
    assert (bf16.encode_texts([question]) @ fp32_question.T).item() > 0.999
    assert embedder.with_precision("fp32") is embedder


def test_precision_is_resolved_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.embed import embedding
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


QUESTIONS = [
    "Who did Tokayev ask for help?",
    "How many troops arrived, and when?",
    "Was the football final a draw? " * 40,  # longer than the model's window: truncated alike
]


def _onnx_embedder(embedder: Embedder, cache: Path) -> Embedder:
    from qa.embed.embedding import _Queries

    return Embedder(embedder.model, embedder.name, queries=_Queries(cache))


def test_onnx_questions_equal_pytorch_and_are_exported_once(
    embedder: Embedder, tmp_path: Path
) -> None:
    torch_only = Embedder(embedder.model, embedder.name)
    fast = _onnx_embedder(embedder, tmp_path)
    for q in QUESTIONS:
        np.testing.assert_allclose(fast.encode_query(q), torch_only.encode_query(q), atol=1e-5)
    assert fast.queries.note is None and fast.queries.session(embedder.model) is not None
    [exported] = tmp_path.glob("*.onnx")
    made = exported.stat().st_mtime_ns
    again = _onnx_embedder(embedder, tmp_path)
    np.testing.assert_allclose(again.encode_query(QUESTIONS[0]), fast.encode_query(QUESTIONS[0]))
    assert exported.stat().st_mtime_ns == made  # read back, not exported again
    assert not list(tmp_path.glob(".export-*"))  # no temporary file left


def test_a_damaged_export_is_made_again(embedder: Embedder, tmp_path: Path) -> None:
    _onnx_embedder(embedder, tmp_path).encode_query("warm")
    [exported] = tmp_path.glob("*.onnx")
    exported.write_bytes(b"\0garbage" * 100)
    fast = _onnx_embedder(embedder, tmp_path)
    fast.encode_query("Who did Tokayev ask for help?")
    assert fast.queries.note is None and fast.queries.session(embedder.model) is not None
    assert exported.stat().st_size > 1_000_000


def test_questions_fall_back_to_pytorch_with_a_reason(
    embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.embed import onnx_queries

    torch_vector = Embedder(embedder.model, embedder.name).encode_query(QUESTIONS[0])
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    blocked = _onnx_embedder(embedder, not_a_folder / "cache")
    assert np.array_equal(blocked.encode_query(QUESTIONS[0]), torch_vector)
    assert "not writable" in blocked.queries.note and "QA_MODEL_CACHE" in blocked.queries.note

    monkeypatch.setattr(onnx_queries, "AGREEMENT", -1.0)  # nothing agrees: must not be used
    strict = _onnx_embedder(embedder, tmp_path / "strict")
    assert np.array_equal(strict.encode_query(QUESTIONS[0]), torch_vector)
    assert "differs from PyTorch" in strict.queries.note


def test_unknown_query_runtime_is_a_usage_error() -> None:
    from qa.errors import UsageError

    with pytest.raises(UsageError, match="QA_QUERY_RUNTIME"):
        Embedder.load(query_runtime="tensorflow")
