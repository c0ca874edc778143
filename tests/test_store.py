"""The index folder: atomic generations, and refusals that name `qa index build`."""

import json
import shutil
from pathlib import Path

import pytest

from qa import store
from qa.config import Settings
from qa.errors import IndexCorrupt, IndexMismatch, IndexMissing
from qa.indexing import build_index, manifest_expectations


@pytest.fixture
def index_copy(seed_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the seed index that a test may damage."""
    shutil.copytree(seed_settings.index, tmp_path / "index")
    return seed_settings.with_(index=tmp_path / "index")


def _load(settings: Settings, embedder) -> store.LoadedIndex:
    return store.load(settings.index, manifest_expectations(settings, embedder))


def test_roundtrip_keeps_chunks_articles_and_vectors(index_copy: Settings, embedder) -> None:
    loaded = _load(index_copy, embedder)
    data = loaded.data
    assert data.manifest["counts"]["chunks"] == len(data.chunks) == loaded.faiss_index.ntotal
    assert data.vectors.shape == (len(data.chunks), 384)
    assert loaded.sentence_offsets[-1] == len(data.sentence_vectors)
    for chunk in data.chunks:
        assert data.articles[chunk.article_id].text[chunk.start : chunk.end] == chunk.text
    manifest = data.manifest
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert set(manifest["articles"]) == set(data.articles)
    assert manifest["chunking"]["chunk_tokens"] == index_copy.chunk_tokens


def test_missing_index_names_the_build_command(tmp_path: Path, embedder) -> None:
    with pytest.raises(IndexMissing, match="qa index build"):
        _load(Settings(index=tmp_path / "nothing"), embedder)


@pytest.mark.parametrize("name", ["vectors.faiss", "chunks.jsonl", "sentences.npy"])
def test_truncated_file_is_corrupt(index_copy: Settings, embedder, name: str) -> None:
    path = store.current_generation(index_copy.index) / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexCorrupt, match="qa index build"):
        _load(index_copy, embedder)


def test_deleted_file_and_garbage_manifest_are_corrupt(index_copy: Settings, embedder) -> None:
    gen = store.current_generation(index_copy.index)
    (gen / "articles.jsonl").unlink()
    with pytest.raises(IndexCorrupt, match="articles.jsonl is missing"):
        _load(index_copy, embedder)
    (gen / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="manifest.json"):
        _load(index_copy, embedder)


def test_same_size_garbage_is_corrupt(index_copy: Settings, embedder) -> None:
    path = store.current_generation(index_copy.index) / "vectors.faiss"
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(IndexCorrupt, match="qa index build"):
        _load(index_copy, embedder)


def test_other_model_or_chunking_is_refused(index_copy: Settings, embedder) -> None:
    with pytest.raises(IndexMismatch, match="model"):
        _load(index_copy.with_(model="some-other-model"), embedder)
    with pytest.raises(IndexMismatch, match="chunking.*qa index build"):
        _load(index_copy.with_(chunk_tokens=128), embedder)


def test_rebuild_swaps_generation_and_cleans_leftovers(index_copy: Settings, embedder) -> None:
    root = index_copy.index
    first = store.current_generation(root)
    (root / ".tmp-gen-killed-build").mkdir()
    build_index(index_copy, embedder)
    second = store.current_generation(root)
    assert second != first and second.is_dir()
    assert first.is_dir(), "the previous generation stays for readers that just opened it"
    assert not (root / ".tmp-gen-killed-build").exists()
    build_index(index_copy, embedder)
    assert not first.exists(), "generations older than the previous one are removed"
    assert json.loads((store.current_generation(root) / "manifest.json").read_text())["files"]
