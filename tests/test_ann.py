"""The FAISS index kinds: chosen by size, searched with filters (k stays k), one copy of the
vectors, and the same answers from every kind on a real index."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from qa.answer.engine import Engine
from qa.errors import UsageError
from qa.index import ann, store
from qa.index.indexing import build_index, update_index
from qa.surfaces.cli import app
from tests.conftest import SEEDS


def _unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_auto_is_exact_for_small_corpora_and_hnsw_above() -> None:
    assert ann.choose("auto", ann.FLAT_MAX).kind == "flat"
    assert ann.choose("auto", ann.FLAT_MAX + 1) == ann.Spec("hnsw", m=32, ef_construction=80)
    assert ann.choose("ivf", 40_000).nlist == 800  # 4·√n
    assert ann.choose("ivf", 100).nlist == 2  # at least 39 training vectors per cluster
    assert ann.Spec.from_json(None) == ann.Spec("flat")  # an index from before kinds
    spec = ann.choose("hnsw", 5)
    assert ann.Spec.from_json(spec.to_json()) == spec
    with pytest.raises(UsageError, match="auto, flat, hnsw, ivf"):
        ann.choose("annoy", 10)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_every_kind_finds_the_nearest_and_filters_keep_k(kind: str) -> None:
    x = _unit_rows(3000)
    index = ann.build(ann.choose(kind, len(x)), x)
    ann.configure(index, ef_search=64, nprobe=8)
    vectors = ann.rows_of(index)
    np.testing.assert_array_equal(vectors, x)
    for row in (0, 1234, 2999):
        assert ann.search(index, vectors, x[row : row + 1], 5, None)[0] == row
    allowed = np.zeros(len(x), bool)
    allowed[::97] = True  # 31 rows
    got = ann.search(index, vectors, x[:1], 10, allowed)
    exact = np.flatnonzero(allowed)[np.argsort(-(x[allowed] @ x[0]))][:10]
    assert got == [int(r) for r in exact]
    few = np.zeros(len(x), bool)
    few[[5, 6]] = True
    assert sorted(ann.search(index, vectors, x[:1], 10, few)) == [5, 6]  # k is capped at 2


def test_an_approximate_search_that_misses_filtered_rows_is_redone_exactly(monkeypatch) -> None:
    x = _unit_rows(3000, seed=1)
    index = ann.build(ann.choose("hnsw", len(x)), x)
    ann.configure(index, ef_search=16, nprobe=1)
    monkeypatch.setattr(ann, "EXACT_FILTERED", 0)  # force the filtered graph search
    allowed = np.zeros(len(x), bool)
    allowed[::300] = True  # 10 rows scattered over the graph: ef 16 finds few of them
    got = ann.search(index, ann.rows_of(index), x[1:2], 10, allowed)
    assert sorted(got) == list(np.flatnonzero(allowed))


def test_loaded_vectors_are_a_view_into_the_mapped_index(seed_settings) -> None:
    loaded = store.load(seed_settings.index, {})
    vectors = loaded.data.vectors
    assert not vectors.flags.owndata  # no second copy of the chunk vectors
    assert vectors.shape == (loaded.faiss_index.ntotal, loaded.faiss_index.d)
    assert isinstance(loaded.data.sentence_vectors, np.memmap)


def test_every_kind_gives_the_seed_answers_of_the_exact_index(
    seed_settings, seed_engine, tmp_path, embedder
) -> None:
    """`--index-type hnsw` and `ivf` answer the seed questions as the flat index does; changing
    the kind of an index rebuilds only its FAISS part (nothing is embedded again)."""
    questions = [
        "Who asked Russia for military help?",
        "How many people have been detained?",
        "What is the CSTO?",
        "Where is Nazarbayev's spokesman?",
    ]
    expected = [seed_engine.ask(q).to_json()["citations"] for q in questions]
    settings = seed_settings.with_(index=tmp_path / "index", index_type="hnsw")
    build_index(settings, embedder)
    for kind in ("hnsw", "ivf"):
        settings = settings.with_(index_type=kind)
        report = update_index(settings, embedder)
        assert report.embedded == 0
        assert store.read_manifest(settings.index)["faiss"]["kind"] == kind
        engine = Engine.load(settings, embedder)
        got = [engine.ask(q).to_json()["citations"] for q in questions]
        assert [[c["quote"] for c in g] for g in got] == [[c["quote"] for c in e] for e in expected]
    info = CliRunner().invoke(app, ["index", "info", "--index", str(settings.index)])
    assert "faiss: ivf (nlist=" in info.output and "nprobe=32" in info.output


def test_the_cli_builds_the_kind_asked_for_and_refuses_an_unknown_one(tmp_path) -> None:
    index = tmp_path / "index"
    runner = CliRunner()
    args = ["index", "build", "--corpus", str(SEEDS), "--index", str(index)]
    bad = runner.invoke(app, [*args, "--index-type", "annoy"])
    assert bad.exit_code != 0 and "Unknown index type 'annoy'" in bad.output
    assert not index.exists() or store.current_generation(index) is None
    done = runner.invoke(app, [*args, "--index-type", "hnsw", "--precision", "fp32"])
    assert done.exit_code == 0, done.output
    info = runner.invoke(app, ["index", "info", "--index", str(index)])
    assert "faiss: hnsw (M=32, efConstruction=80; efSearch=128)" in info.output
    assert "precision: fp32" in info.output


def test_ivf_rows_are_read_back_not_copied() -> None:
    x = _unit_rows(2000, seed=2)
    rows = ann.rows_of(ann.build(ann.choose("ivf", len(x)), x))
    assert isinstance(rows, ann.Reconstructed) and rows.shape == x.shape and len(rows) == 2000
    np.testing.assert_array_equal(rows[7], x[7])
    np.testing.assert_array_equal(rows[np.array([3, 1999, 3])], x[[3, 1999, 3]])
    np.testing.assert_array_equal(rows[10:20], x[10:20])
    mask = np.zeros(len(x), bool)
    mask[[0, 5]] = True
    np.testing.assert_array_equal(rows[mask], x[mask])
    assert rows[np.array([], np.int64)].shape == (0, x.shape[1])
