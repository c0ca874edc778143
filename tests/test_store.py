"""The index folder: atomic generations, and refusals that name `qa index build`."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import text
from qa.config import Settings
from qa.errors import IndexCorrupt, IndexMismatch, IndexMissing
from qa.index import store
from qa.index.indexing import build_index, manifest_expectations


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


@pytest.mark.parametrize("name", ["vectors.faiss", "chunks.sqlite", "sentences.npy"])
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


def test_the_chunk_table_is_read_from_disk_row_by_row(index_copy: Settings, embedder) -> None:
    """Chunks come from `chunks.sqlite` as asked for, from any thread; a damaged table of the
    right size is refused; a generation from before the table moved there (`chunks.jsonl`)
    still loads, with the same chunks."""
    import threading

    from qa.index.chunktable import ChunkTable

    loaded = _load(index_copy, embedder)
    table = loaded.data.chunks
    assert isinstance(table, ChunkTable) and len(table) == loaded.faiss_index.ntotal
    assert table[-1] == list(table)[-1] and table[0:2] == list(table)[:2]
    assert list(loaded.row_articles) == [c.article_id for c in table]
    assert len(loaded.data.text_hashes) == len(table)
    with pytest.raises(IndexError):
        table[len(table)]
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(table[1].chunk_id))
    worker.start()
    worker.join()
    assert seen == [table[1].chunk_id]

    gen = store.current_generation(index_copy.index)
    hashes = loaded.data.text_hashes
    rows = [dict(vars(c), text_hash=h) for c, h in zip(table, hashes, strict=True)]
    with open(gen / "chunks.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    size = manifest["files"].pop("chunks.sqlite")
    manifest["files"]["chunks.jsonl"] = (gen / "chunks.jsonl").stat().st_size
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (gen / "chunks.sqlite").unlink()
    old = _load(index_copy, embedder)
    assert list(old.data.chunks) == list(table) and old.data.text_hashes == table.text_hashes

    manifest["files"]["chunks.sqlite"] = size
    (gen / "chunks.sqlite").write_bytes(b"\0" * size)  # same size, not a database
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="qa index build"):
        _load(index_copy, embedder)


def test_a_loaded_chunk_table_reads_on_after_its_generation_is_removed(
    index_copy: Settings, embedder
) -> None:
    """A question still reading a generation that a later build's cleanup removed gets its
    chunks: the table's file was opened when the generation was loaded."""
    loaded = _load(index_copy, embedder)
    shutil.rmtree(store.current_generation(index_copy.index))
    assert [c.chunk_id for c in loaded.data.chunks][-1] == loaded.data.chunks[-1].chunk_id


def test_sentence_vectors_are_written_as_the_build_goes(index_copy: Settings, embedder) -> None:
    """They go to the new generation's folder as they are made; what lands is exactly what
    in-memory encoding gives, and no scratch file stays behind."""
    from qa.index.indexing import chunk_corpus

    loaded = _load(index_copy, embedder)
    files = {
        p.relative_to(loaded.folder).as_posix() for p in loaded.folder.rglob("*") if p.is_file()
    }
    assert files == set(loaded.data.manifest["files"]) | {"manifest.json"}
    assert not list(index_copy.index.glob(".tmp-*"))
    chunks, texts, spans = chunk_corpus(
        list(loaded.data.articles.values()), index_copy, embedder, lambda *a: None
    )
    in_memory = embedder.encode_documents(texts, spans)
    expected = np.concatenate(in_memory.span_vectors).astype(np.float16)
    np.testing.assert_array_equal(np.asarray(loaded.data.sentence_vectors), expected)
    # the chunk vectors went through a scratch file on their way to FAISS: the same rows
    np.testing.assert_array_equal(np.asarray(loaded.data.vectors), in_memory.vectors)


def test_model_inputs_are_each_chunks_headline_and_text(index_copy: Settings, embedder) -> None:
    """Made when asked for, they are what `embed_input` gives: the text the model reads and
    its sentences' spans in it, for every chunk, and for a selection in its order."""
    from qa.embed.inputs import embed_input, headlines
    from qa.index import bm25
    from qa.index.indexing import chunk_corpus

    articles = list(_load(index_copy, embedder).data.articles.values())
    chunks, inputs, spans = chunk_corpus(articles, index_copy, embedder, lambda *a: None)
    heads = dict(zip([a.id for a in articles], headlines(articles, embedder, set()), strict=True))
    assert len(inputs) == len(spans) == len(chunks) > 1
    assert bm25.boilerplate_templates([a.title for a in articles]) == set()
    for k, chunk in enumerate(chunks):
        text, chunk_spans = embed_input(chunk, heads[chunk.article_id][0])
        assert (inputs[k], spans[k]) == (text, chunk_spans)
        assert [text[s:e] for s, e in chunk_spans] == [
            chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences
        ]
    picked = inputs.select([len(chunks) - 1, 0])
    assert list(picked) == [inputs[len(chunks) - 1], inputs[0]]
    assert list(picked.spans) == [spans[len(chunks) - 1], spans[0]]
    assert inputs[0:2] == [inputs[0], inputs[1]]


def test_a_build_leaves_the_answer_word_cache_alone(index_copy: Settings, embedder) -> None:
    """BM25 tokenizes every chunk once at a build: through the cache, its keys would keep up to
    65,536 chunk texts alive after the build (in a chat that rebuilds, for good)."""
    from qa.index import indexing

    text.words.cache_clear()
    indexing.build_index(index_copy, embedder)
    assert text.words.cache_info().currsize == 0


def test_a_build_that_fails_leaves_no_folder_and_the_index_answering(
    index_copy: Settings, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.index import indexing

    before = store.current_name(index_copy.index)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full, say")

    monkeypatch.setattr(indexing, "_keyword_index", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        indexing.build_index(index_copy, embedder)
    assert not list(index_copy.index.glob(".tmp-*"))
    assert store.current_name(index_copy.index) == before
    assert len(_load(index_copy, embedder).data.chunks) > 0
