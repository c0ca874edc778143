"""Incremental updates: same index as a full build, staleness, the writer lock, live swaps."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qa.answer.engine import Engine
from qa.config import Settings
from qa.errors import IndexLocked
from qa.index import bm25, indexing, store
from qa.index.indexing import build_index, corpus_changes, update_index
from qa.surfaces.cli import app
from tests.conftest import bbc_lines

EXTRA = "Lanterns over Tallinn\n\nThe city lit 4,000 paper lanterns on Friday night.\n"
LANTERNS = "How many paper lanterns did Tallinn light?"


@dataclass(frozen=True)
class Versions:
    """Two versions of a small BBC corpus, and a full index of the first."""

    v1: list[dict]
    v2: list[dict]
    corpus: Path  # holds feed.jsonl (v1) and extra.txt
    settings: Settings  # the full build of `corpus`
    changed_id: str


def _write(folder: Path, rows: list[dict], extra: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if extra:
        (folder / "extra.txt").write_text(EXTRA)
    return folder


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory, embedder) -> Versions:
    rows = bbc_lines()
    longest = max(rows[:60], key=lambda r: len(r["text"]))
    v1 = [r for r in rows[:10] if r is not longest] + [longest]
    paragraphs = longest["text"].split("\n\n")
    paragraphs[-1] = "The company said it would now also sell paper lanterns in Tallinn."
    changed = dict(longest, text="\n\n".join(paragraphs))
    v2 = [changed if r is longest else r for r in v1[2:]] + rows[100:103]
    tmp = tmp_path_factory.mktemp("versions")
    settings = Settings(corpus=_write(tmp / "corpus", v1), index=tmp / "index")
    build_index(settings, embedder)
    return Versions(v1, v2, settings.corpus, settings, longest["id"])


def _copy(versions: Versions, tmp_path: Path, rows: list[dict] | None = None) -> Settings:
    """A private corpus (v1 unless `rows`) and a private copy of the v1 index."""
    corpus = tmp_path / "corpus"
    shutil.copytree(versions.corpus, corpus)
    if rows is not None:
        _write(corpus, rows, extra=False)
    shutil.copytree(versions.settings.index, tmp_path / "index")
    return versions.settings.with_(corpus=corpus, index=tmp_path / "index")


def _answers(settings: Settings, embedder, questions: list[str]) -> list[dict]:
    engine = Engine.load(settings, embedder)
    return [dict(engine.ask(q).to_json(), timings_ms=None) for q in questions]


def test_update_gives_the_same_index_as_a_full_build(versions, tmp_path, embedder) -> None:
    settings = _copy(versions, tmp_path, versions.v2)
    stages: list[tuple[str, int, int]] = []
    report = update_index(settings, embedder, lambda *a: stages.append(a))

    added = {r["id"] for r in versions.v2} - {r["id"] for r in versions.v1}
    removed = {r["id"] for r in versions.v1} - {r["id"] for r in versions.v2}
    assert report.mode == "update" and not report.up_to_date
    assert set(report.changes.added) == added and set(report.changes.removed) == removed
    assert report.changes.changed == (versions.changed_id,)
    assert report.changes.unchanged == len(versions.v2) - len(added) - 1 + 1  # + extra.txt
    assert "3 added, 1 changed, 2 removed" in report.summary()

    full = settings.with_(index=tmp_path / "full")
    build_index(full, embedder)
    a = store.load(settings.index, {})
    b = store.load(full.index, {})
    assert [c.chunk_id for c in a.data.chunks] == [c.chunk_id for c in b.data.chunks]
    assert a.data.chunks == b.data.chunks and a.data.text_hashes == b.data.text_hashes
    np.testing.assert_allclose(a.data.vectors, b.data.vectors, atol=1e-6)
    np.testing.assert_allclose(
        a.data.sentence_vectors.astype(np.float32),
        b.data.sentence_vectors.astype(np.float32),
        atol=1e-3,  # float16 storage
    )
    assert a.data.articles == b.data.articles
    assert a.data.manifest["articles"] == b.data.manifest["articles"]
    # The keyword part too: reused token ids give the scores a fresh tokenization gives.
    assert a.keyword is not None and b.keyword is not None
    for question in (LANTERNS, "oil prices and the dollar", "Who sells lanterns?"):
        np.testing.assert_allclose(
            bm25.scores(a.keyword, question), bm25.scores(b.keyword, question), rtol=1e-5
        )
    assert set(a.keyword.vocab) == set(b.keyword.vocab)  # words of removed chunks are gone

    # Only new text was embedded: the changed article's unchanged chunks came from the cache.
    changed_chunks = [c for c in a.data.chunks if c.article_id == versions.changed_id]
    new_chunks = [c for c in a.data.chunks if c.article_id in added]
    assert len(changed_chunks) >= 3
    assert report.embedded < len(changed_chunks) + len(new_chunks)
    assert report.embedded + report.reused == len(a.data.chunks)

    titles = [r["title"] for r in versions.v2[-4:]]
    questions = [f"What happened: {t}?" for t in titles] + [LANTERNS, "Who sells lanterns?"]
    assert _answers(settings, embedder, questions) == _answers(full, embedder, questions)

    seen = [s for s, _, _ in stages]
    assert [s for i, s in enumerate(seen) if s not in seen[:i]] == list(indexing.STAGES)
    for stage in indexing.STAGES:
        last = [(d, t) for s, d, t in stages if s == stage][-1]
        assert last[0] == last[1], f"{stage} ended at {last}"


def test_update_with_nothing_changed_writes_nothing(versions, tmp_path, embedder) -> None:
    shutil.copytree(versions.settings.index, tmp_path / "index")
    settings = versions.settings.with_(index=tmp_path / "index")
    before = store.current_generation(settings.index)
    report = update_index(settings, embedder)
    assert report.up_to_date and report.embedded == 0
    assert store.current_generation(settings.index) == before
    assert "up to date" in report.summary()


def test_an_index_without_text_hashes_is_updated_from_its_own_vectors(
    versions, tmp_path, embedder
) -> None:
    settings = _copy(versions, tmp_path)
    old = store.load(settings.index, {})
    manifest = {k: v for k, v in old.data.manifest.items() if k != "corpus_files"}
    store.save(settings.index, replace(old.data, manifest=manifest, text_hashes=()))
    assert not store.load(settings.index, {}).data.text_hashes
    report = update_index(settings, embedder)
    assert report.embedded == 0 and report.reused == len(old.data.chunks)
    assert store.load(settings.index, {}).data.text_hashes


def test_other_chunking_builds_in_full_and_says_why(seed_settings, tmp_path, embedder) -> None:
    shutil.copytree(seed_settings.index, tmp_path / "index")
    settings = seed_settings.with_(index=tmp_path / "index", chunk_tokens=128)
    report = update_index(settings, embedder)
    assert report.mode == "full" and "chunking" in report.note
    assert report.embedded == report.chunks and report.reused == 0


def test_an_article_that_fails_is_listed_and_the_rest_go_on(
    versions, tmp_path, embedder, monkeypatch
) -> None:
    settings = _copy(versions, tmp_path, versions.v2)
    bad = versions.v2[-1]["id"]
    real = indexing.chunk_article

    def chunk_article(article_id: str, *args, **kwargs):
        if article_id == bad:
            raise RuntimeError("tokenizer exploded")
        return real(article_id, *args, **kwargs)

    monkeypatch.setattr(indexing, "chunk_article", chunk_article)
    report = update_index(settings, embedder)
    (failed,) = [s for s in report.skipped if bad in s.path]
    assert "chunking failed (RuntimeError: tokenizer exploded)" in failed.reason
    loaded = store.load(settings.index, {})
    assert bad not in loaded.data.articles and len(loaded.data.articles) == report.articles
    assert len(loaded.data.articles) == len(versions.v2)  # v2 + extra.txt - the failed one

    monkeypatch.setattr(indexing, "chunk_article", real)
    again = update_index(settings, embedder)
    assert again.changes.added == (bad,) and bad in store.load(settings.index, {}).data.articles


def test_staleness_counts_what_changed_on_disk(versions, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(versions.corpus, corpus)  # copies keep modification times
    manifest = store.read_manifest(versions.settings.index)
    assert corpus_changes(manifest, corpus).stale_note() is None
    (corpus / "extra.txt").touch()  # touched, not changed: still up to date
    assert corpus_changes(manifest, corpus).count == 0

    _write(corpus, versions.v2, extra=False)
    (corpus / "new.md").write_text("A new story\n\nSomething happened.\n")
    (corpus / "extra.txt").write_text(EXTRA.replace("4,000", "5,000"))
    changes = corpus_changes(manifest, corpus)
    assert len(changes.added) == 4 and len(changes.removed) == 2 and len(changes.changed) == 2
    note = changes.stale_note()
    assert note.startswith("8 articles changed since the index was built")
    assert note.endswith("run `qa index update`.")


def test_a_second_writer_is_refused_naming_the_holder(versions, tmp_path, embedder) -> None:
    settings = _copy(versions, tmp_path)
    with store.writer_lock(settings.index):
        with pytest.raises(IndexLocked, match=rf"pid {__import__('os').getpid()}, started"):
            build_index(settings, embedder)
        with pytest.raises(IndexLocked, match="wait for it to finish"):
            update_index(settings, embedder)
        # Readers never wait for the lock.
        assert not Engine.load(settings, embedder).ask(LANTERNS).abstained
    assert update_index(settings, embedder).up_to_date is False  # moved corpus: rewritten


def test_a_running_engine_follows_updates_without_a_restart(versions, tmp_path, embedder) -> None:
    settings = _copy(versions, tmp_path)
    engine = Engine.load(settings, embedder)
    question = "Which company will sell paper lanterns in Tallinn?"
    first = engine.index.folder
    answers: list[object] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                answers.append(engine.ask(question))
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        _write(settings.corpus, versions.v2, extra=True)
        update_index(settings, embedder)
    finally:
        stop.set()
        asker.join()
    assert not errors and answers
    after = engine.ask(question)
    assert engine.index.folder != first
    assert any(c.article_id == versions.changed_id for c in after.citations)
    assert "lanterns" in after.text


def test_a_generation_that_cannot_load_leaves_the_engine_answering(
    versions, tmp_path, embedder
) -> None:
    settings = _copy(versions, tmp_path)
    engine = Engine.load(settings, embedder)
    good = engine.index.folder
    broken = settings.index / "gen-99999999T999999-broken"
    shutil.copytree(good, broken)
    (broken / "vectors.faiss").write_bytes(b"garbage")
    (settings.index / "CURRENT").write_text(broken.name + "\n")
    answer = engine.ask(LANTERNS)
    assert "4,000" in answer.text and engine.index.folder == good
    assert "damaged" in (engine.problem or "")
    (settings.index / "CURRENT").write_text(good.name + "\n")
    engine.ask(LANTERNS)
    assert engine.problem is None


def test_cli_update_reports_changes_and_ask_warns_when_stale(versions, tmp_path, embedder) -> None:
    settings = _copy(versions, tmp_path)
    runner = CliRunner()
    index = ["--index", str(settings.index)]
    info = runner.invoke(app, ["index", "info", *index])
    assert "status: up to date" in info.output  # the copy's manifest names the v1 corpus

    # The index copy was built from versions.corpus: point it at the private corpus.
    moved = runner.invoke(app, ["index", "update", "--corpus", str(settings.corpus), *index])
    assert moved.exit_code == 0, moved.output
    assert "0 added, 0 changed, 0 removed" in moved.output

    (settings.corpus / "extra.txt").write_text(EXTRA.replace("4,000", "5,000"))
    info = runner.invoke(app, ["index", "info", *index])
    assert "1 article changed since the index was built" in info.output
    asked = runner.invoke(app, ["ask", "--json", LANTERNS, *index])
    assert asked.exit_code == 0
    assert "1 article changed since the index was built" in asked.stderr
    assert "4,000" in json.loads(asked.stdout)["answer"], "answers from the index it has"

    updated = runner.invoke(app, ["index", "update", *index])  # the corpus named by the index
    assert updated.exit_code == 0, updated.output
    assert "Update: 0 added, 1 changed, 0 removed" in updated.output
    assert "embedded 1 chunks" in updated.output
    asked = runner.invoke(app, ["ask", "--json", LANTERNS, *index])
    assert "5,000" in json.loads(asked.stdout)["answer"] and not asked.stderr

    with store.writer_lock(settings.index):
        locked = runner.invoke(app, ["index", "update", *index])
    assert locked.exit_code == 1 and "pid" in locked.output and "Traceback" not in locked.output


SEED_QUESTIONS = (
    "Who did Tokayev ask for help?",
    "How many people have been detained?",
    "When was the CSTO founded?",
    "What did Blinken question?",
)


def test_precision_is_recorded_followed_by_questions_and_kept_by_updates(
    seed_settings, tmp_path, embedder
) -> None:
    """A bf16 build says so in its manifest and `qa index info`; the engine encodes questions
    in the index's precision; "auto" updates keep it, an explicit other one re-embeds all."""
    settings = replace(seed_settings, index=tmp_path / "index", precision="bf16")
    bf16 = embedder.with_precision("bf16")
    build_index(settings, bf16)
    assert store.read_manifest(settings.index)["precision"] == bf16.precision
    engine = Engine.load(settings, embedder)  # an fp32 embedder is handed in ...
    assert engine.embedder.precision == bf16.precision  # ... and follows the index
    exact = Engine.load(seed_settings, embedder)  # the fp32 index of the same article
    for question in SEED_QUESTIONS:  # the same answers, quote for quote
        got, want = engine.ask(question).to_json(), exact.ask(question).to_json()
        assert [c["quote"] for c in got["citations"]] == [c["quote"] for c in want["citations"]]
        assert got["abstained"] == want["abstained"]

    kept = update_index(replace(settings, precision="auto"), embedder)
    assert kept.up_to_date and not kept.note
    redone = update_index(replace(settings, precision="fp32"), embedder)
    if bf16.precision == "bf16":
        assert redone.embedded == redone.chunks and "embedded in bf16, now fp32" in redone.note
    assert store.read_manifest(settings.index)["precision"] == "fp32"
    info = CliRunner().invoke(app, ["index", "info", "--index", str(settings.index)])
    assert "precision: fp32" in info.output
