"""Build and update an index: read → chunk → embed → write, with progress and a summary.

Each chunk is embedded as "title\\n chunk text" so a passage that says "the firm" still carries
the story's headline (unless the headline is boilerplate, shared by many articles: see
`bm25.boilerplate_templates`); sentence vectors come from the same pass (`embedding`).

`build_index` embeds everything. `update_index` compares the corpus with the current
generation's manifest by content hash and does only the work that changed: unchanged articles
keep their chunks and vectors, added and changed articles are re-chunked, and only chunks whose
model input is new are embedded. The previous generation is the vector cache: each chunk row
carries `text_hash` (the hash of exactly what the model saw, see `qa.embed.inputs.text_hash`), and
the cache is valid because an update only runs when the model and chunking equal the
manifest's (otherwise it builds in full). Both write a new generation and hold the writer lock
(see `qa.index.store`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.embed.embedding import DocumentVectors, Embedder, Span
from qa.embed.inputs import ModelInputs, embed_input, headlines, text_hash
from qa.errors import IndexCorrupt, IndexMismatch, IndexMissing, QAError, UsageError
from qa.index import ann, bm25, calibration, store
from qa.ingest import library
from qa.ingest.chunking import Chunk, PackedChunks, chunk_article
from qa.ingest.corpus import Article, CorpusRead, Renamed, Skipped, read_corpus, read_file
from qa.lazy import LazySequence
from qa.text import headline_template

# stage name, items done, items in the stage
Progress = Callable[[str, int, int], None]
STAGES = ("reading", "chunking", "embedding", "keywords", "writing")
UNITS = {
    "reading": "articles",
    "chunking": "articles",
    "embedding": "chunks",
    "keywords": "chunks",
    "writing": "files",
}


@dataclass(frozen=True)
class Changes:
    """How a corpus differs from an index: article ids by kind of change."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def count(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged"
        )

    def stale_note(self) -> str | None:
        """What the CLI and the chat say when the corpus moved on; None when it did not."""
        if not self.count:
            return None
        n = self.count
        return (
            f"{n} article{'s' if n != 1 else ''} changed since the index was built "
            f"({self.summary()}): run `qa index update`."
        )


@dataclass(frozen=True)
class BuildReport:
    articles: int
    chunks: int
    sentences: int
    skipped: list[Skipped]
    seconds: float
    generation: Path | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    up_to_date: bool = False
    mode: str = "full"  # "full": everything embedded; "update": only what changed
    changes: Changes = field(default_factory=Changes)
    embedded: int = 0  # chunks run through the model
    reused: int = 0  # chunks whose vectors came from the previous generation
    note: str = ""  # why an update was built in full
    renamed: list[Renamed] = field(default_factory=list)  # articles indexed under a new id

    def summary(self) -> str:
        """What was done, for the CLI and the chat: counts, changes, vectors reused, seconds."""
        if self.up_to_date:
            return (
                f"The index is up to date: {self.changes.summary()} ({self.articles} "
                f"articles, {self.chunks} chunks; checked in {self.seconds:.1f} s)."
            )
        lines = [
            f"Indexed {self.articles} articles into {self.chunks} chunks ({self.sentences} "
            f"sentences) in {self.seconds:.1f} s; {len(self.skipped)} skipped"
            + (f", {len(self.renamed)} renamed (their id was taken)." if self.renamed else "."),
            f"{'Update' if self.mode == 'update' else 'Full build'}: {self.changes.summary()}; "
            f"embedded {self.embedded} chunks, reused {self.reused}."
            + (f" ({self.note})" if self.note else ""),
        ]
        if self.generation is not None:
            lines.append(f"Index: {self.generation}")
        return "\n".join(lines)


def manifest_expectations(settings: Settings, embedder: Embedder | None = None) -> dict[str, Any]:
    """What a loaded index must match: the same model and the same chunking."""
    expect: dict[str, Any] = {"model": settings.model, "chunking": chunking_params(settings)}
    if embedder is not None:
        expect["dimension"] = embedder.dim
    return expect


def chunking_params(settings: Settings) -> dict[str, Any]:
    return {
        "chunk_tokens": settings.chunk_tokens,
        "overlap": settings.chunk_overlap,
        "title_prefix": "unless boilerplate",
        "splitter": "blingfire",
    }


def keyword_params() -> dict[str, Any]:
    """How the keyword part is built; a manifest with others gets it rebuilt (no re-embedding)."""
    return dict(
        bm25.PARAMS,
        field="title+chunk, boilerplate titles dropped",
        boilerplate=[bm25.BOILERPLATE_MIN, bm25.BOILERPLATE_SHARE],
    )


def is_up_to_date(settings: Settings, corpus: CorpusRead) -> bool:
    """True when the current index was built from exactly this corpus with these settings."""
    try:
        manifest = store.read_manifest(settings.index)
    except QAError:
        return False
    hashes = {a.id: a.content_hash for a in corpus.articles}
    return (
        manifest.get("format") == store.FORMAT_VERSION
        and manifest.get("model") == settings.model
        and manifest.get("chunking") == chunking_params(settings)
        and manifest.get("keyword") == keyword_params()
        and manifest.get("articles") == hashes
    )


def diff(indexed: dict[str, str], articles: list[Article]) -> Changes:
    """Changes from `indexed` (`{id: content_hash}`, a manifest's) to `articles`."""
    now = {a.id: a.content_hash for a in articles}
    return Changes(
        added=tuple(i for i in now if i not in indexed),
        changed=tuple(i for i in now if i in indexed and indexed[i] != now[i]),
        removed=tuple(i for i in indexed if i not in now),
        unchanged=sum(1 for i in now if indexed.get(i) == now[i]),
    )


# --- staleness -----------------------------------------------------------------------------------

_STALENESS: dict[tuple[str, str], Changes] = {}


def indexed_corpus(manifest: dict[str, Any]) -> Path | None:
    """The corpus folder (or file) the index was built from, as the manifest records it."""
    corpus = manifest.get("corpus")
    return Path(corpus) if corpus else None


def corpus_changes(manifest: dict[str, Any], corpus: Path | None = None) -> Changes:
    """How the corpus on disk differs from what `manifest` indexed, cheaply.

    Files are compared by size and modification time first (`library.fingerprint`); only the
    files that differ are read and their articles compared by content hash, so asking this
    before every question costs a few `stat` calls while nothing changed. Results are memoised
    per generation and fingerprint.
    """
    corpus = corpus or indexed_corpus(manifest)
    indexed: dict[str, str] = manifest.get("articles", {})
    if corpus is None or not corpus.exists():
        return Changes(unchanged=len(indexed))
    prints = library.fingerprint(corpus)
    key = (str(manifest.get("generation")), json.dumps([str(corpus), prints]))
    if key not in _STALENESS:
        if len(_STALENESS) > 32:
            _STALENESS.clear()
        _STALENESS[key] = _changes_by_file(manifest, corpus, prints)
    return _STALENESS[key]


def _changes_by_file(
    manifest: dict[str, Any], corpus: Path, prints: dict[str, list[int]]
) -> Changes:
    indexed: dict[str, str] = manifest.get("articles", {})
    files: dict[str, dict[str, Any]] | None = manifest.get("corpus_files")
    if files is None:  # an index from before file fingerprints were kept: read everything
        return diff(indexed, read_corpus(corpus).articles)
    touched = {
        rel
        for rel in prints.keys() | files.keys()
        if files.get(rel, {}).get("stat") != prints.get(rel)
    }
    if not touched:
        return Changes(unchanged=len(indexed))
    base = library.corpus_base(corpus)
    paths = library.corpus_files(corpus)
    before = {i for rel in touched for i in files.get(rel, {}).get("articles", [])}
    now: dict[str, str] = {}
    for rel in sorted(touched & paths.keys()):
        articles, _ = read_file(paths[rel], base)
        now.update((a.id, a.content_hash) for a in articles)
    added = tuple(i for i in now if i not in indexed)
    changed = tuple(i for i in now if i in indexed and indexed[i] != now[i])
    removed = tuple(sorted(before - now.keys()))
    return Changes(added, changed, removed, len(indexed) - len(changed) - len(removed))


# --- build and update ----------------------------------------------------------------------------


def build_index(
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
    corpus: CorpusRead | None = None,
) -> BuildReport:
    """Build a complete index of `settings.corpus` into a new generation of `settings.index`."""
    _check_window(settings, embedder)
    with store.writer_lock(settings.index):
        return _build(settings, embedder, progress, corpus, previous=None)


def update_index(
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
    corpus: CorpusRead | None = None,
) -> BuildReport:
    """Bring the index up to date with `settings.corpus`, embedding only what is new.

    Without a usable previous index (none, damaged, other model or chunking, another precision
    asked for explicitly) it builds in full and says why in `BuildReport.note`; with precision
    "auto" it keeps the one the index was built with. Same chunks and vectors as a full build
    of the corpus.
    """
    _check_window(settings, embedder)
    t0 = time.perf_counter()
    with store.writer_lock(settings.index):
        try:
            previous = store.load(settings.index, manifest_expectations(settings, embedder))
        except IndexMissing:
            return _build(settings, embedder, progress, corpus, None, "no previous index", t0)
        except (IndexMismatch, IndexCorrupt) as error:
            why = str(error).split(": run `qa index build`")[0]
            note = f"built in full: {why}"
            return _build(settings, embedder, progress, corpus, None, note, t0)
        built_in = previous.data.manifest.get("precision", "fp32")
        if settings.precision == "auto":  # an update keeps the precision the index has
            embedder = embedder.with_precision(built_in)
        if built_in != embedder.precision:  # its vectors are not what the model makes now
            note = f"built in full: the index was embedded in {built_in}, now {embedder.precision}"
            return _build(settings, embedder, progress, corpus, None, note, t0)
        return _build(settings, embedder, progress, corpus, previous, "", t0)


def _check_window(settings: Settings, embedder: Embedder) -> None:
    """Settings that would fail a build fail it before any embedding."""
    ann.choose(settings.index_type, 0)
    if settings.chunk_tokens > embedder.max_tokens:
        raise UsageError(
            f"chunk_tokens={settings.chunk_tokens} is above the model's window of "
            f"{embedder.max_tokens} tokens: lower QA_CHUNK_TOKENS."
        )


@dataclass
class _Rechunked:
    """The articles chunked in this build (added, changed, or whose headline changed sides of
    the boilerplate rule): their chunks, the model input of each, and its cache key."""

    chunks: PackedChunks
    inputs: ModelInputs
    hashes: list[str]
    articles: set[str]  # ids of the articles chunked now
    failed: list[Skipped]  # ... of them, those that could not be chunked
    failed_ids: set[str]
    boilerplate: set[str]  # the boilerplate headline templates of the whole corpus now
    boilerplate_before: set[str]  # ... and of the previous generation


@dataclass
class _Rows:
    """The new index's rows in corpus order: where each row's chunk comes from (the previous
    generation's row of an unchanged article, or a chunk made now) and its vectors (the
    previous generation's row with the same model input, or a text embedded now)."""

    old: Sequence[Chunk]  # the previous generation's chunks (() for a full build)
    new: Sequence[Chunk]  # the chunks made now, `_Rechunked.chunks`
    hashes: list[str] = field(default_factory=list)
    cached: list[int | None] = field(default_factory=list)  # previous row with the same input
    embedded: list[int | None] = field(default_factory=list)  # position among `to_embed`
    kept: list[int | None] = field(default_factory=list)  # previous row of an unchanged article
    made: list[int | None] = field(default_factory=list)  # index in `new` of a chunk made now
    to_embed: list[int] = field(default_factory=list)  # `_Rechunked.chunks` index of each text

    @property
    def chunks(self) -> _RowChunks:
        return _RowChunks(self)


class _RowChunks(LazySequence[Chunk]):
    """The rows' chunks, each fetched from its source when asked for: a build never holds
    them all as objects (the previous generation's come from its `chunks.sqlite`)."""

    def __init__(self, rows: _Rows) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows.hashes)

    def _item(self, i: int) -> Chunk:
        made = self.rows.made[i]
        return self.rows.new[made] if made is not None else self.rows.old[self.rows.kept[i]]


def _build(
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None,
    corpus: CorpusRead | None,
    previous: store.LoadedIndex | None,
    note: str = "",
    t0: float | None = None,
) -> BuildReport:
    """The pipeline behind both entry points; `previous` is the cache (None: embed all).

    read → chunk what changed → plan the rows → embed what is new → keywords → assemble and
    write. Seconds count from `t0`, when the caller started (loading the previous index too).
    """
    report = progress or (lambda stage, done, total: None)
    t0 = t0 if t0 is not None else time.perf_counter()
    stages: dict[str, float] = {"load_previous": time.perf_counter() - t0} if previous else {}
    t = time.perf_counter()
    _clear_leftovers(settings.index)
    corpus, prints = _read(settings, corpus, report)
    indexed = previous.data.manifest.get("articles", {}) if previous else {}
    changes = diff(indexed, corpus.articles)
    stages["read"] = time.perf_counter() - t
    if previous is not None and _nothing_to_write(previous, settings, changes, prints):
        m = previous.data.manifest["counts"]
        seconds = time.perf_counter() - t0
        return BuildReport(
            m["articles"], m["chunks"], m["sentences"], corpus.skipped, seconds,
            previous.folder, stages, up_to_date=True, mode="update", changes=changes,
            renamed=corpus.renamed,
        )  # fmt: skip

    t = time.perf_counter()
    fresh = _rechunk(corpus, changes, previous, settings, embedder, report)
    stages["chunk"] = time.perf_counter() - t

    # the sentence vectors, the largest part, go straight to disk in the new generation's
    # folder as they are made, so a build's memory does not grow with them
    tmp = store.start(settings.index)
    try:
        written = _write(settings, embedder, corpus, fresh, previous, prints, report, tmp, stages)
    except BaseException:  # failed or interrupted: no half-written folder is left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(
        articles=written.articles,
        chunks=len(written.rows.chunks),
        sentences=written.sentences,
        skipped=written.skipped,
        seconds=time.perf_counter() - t0,
        generation=written.generation,
        stage_seconds=stages,
        mode="update" if previous is not None else "full",
        changes=_without(changes, fresh.failed_ids & set(indexed)),
        embedded=len(written.rows.to_embed),
        reused=sum(1 for r in written.rows.cached if r is not None),
        note=note,
        renamed=corpus.renamed,
    )


def _clear_leftovers(folder: Path) -> None:
    """Remove what a killed build left beside the current generation."""
    try:
        current = store.current_name(folder)
    except IndexCorrupt:  # a damaged CURRENT: this build replaces it, and removes nothing
        current = None
    if current is not None:
        store.cleanup(folder, keep={current})


@dataclass(frozen=True)
class _Written:
    generation: Path
    articles: int
    rows: _Rows
    sentences: int
    skipped: list[Skipped]


def _write(
    settings: Settings,
    embedder: Embedder,
    corpus: CorpusRead,
    fresh: _Rechunked,
    previous: store.LoadedIndex | None,
    prints: dict,
    report: Progress,
    tmp: Path,
    stages: dict[str, float],
) -> _Written:
    """Embed what is new, index the keywords, assemble the arrays and save the generation."""
    t = time.perf_counter()
    rows = _plan_rows(corpus, fresh, previous, embedder)
    embedded = _embed(settings, embedder, fresh, rows, report, tmp)
    stages["embed"] = time.perf_counter() - t

    t = time.perf_counter()
    titles = {a.id: a.title for a in corpus.articles if a.id not in fresh.failed_ids}
    keywords = _keyword_index(
        rows.chunks, rows.kept, titles, fresh.boilerplate, previous, report, tmp
    )
    stages["keywords"] = time.perf_counter() - t

    t = time.perf_counter()
    vectors, sentence_vectors = _assemble(rows, previous, embedded, embedder.dim, tmp)
    kept = [a for a in corpus.articles if a.id not in fresh.failed_ids]
    skipped = corpus.skipped + fresh.failed
    manifest = _manifest(
        settings, embedder, kept, rows, vectors, sentence_vectors, fresh, prints, skipped
    )
    data = store.IndexData(
        manifest=manifest,
        articles={a.id: a for a in kept},
        chunks=rows.chunks,
        vectors=vectors,
        sentence_vectors=sentence_vectors,
        text_hashes=tuple(rows.hashes),
        keyword=keywords,
    )
    generation = store.save(settings.index, data, lambda d, n: report("writing", d, n), tmp)
    stages["write"] = time.perf_counter() - t
    return _Written(generation, len(kept), rows, int(len(sentence_vectors)), skipped)


def _without(changes: Changes, gone: set[str]) -> Changes:
    """`changes` with the changed articles that now fail to read counted as removed."""
    if not gone:
        return changes
    return Changes(
        changes.added, tuple(i for i in changes.changed if i not in gone),
        changes.removed + tuple(i for i in changes.changed if i in gone),
        changes.unchanged,
    )  # fmt: skip


def _read(
    settings: Settings, corpus: CorpusRead | None, report: Progress
) -> tuple[CorpusRead, dict]:
    """The corpus (unless the caller read it) and its files' fingerprints, taken first."""
    report("reading", 0, 0)
    prints = library.fingerprint(settings.corpus) if settings.corpus.exists() else {}
    corpus = corpus or read_corpus(settings.corpus)
    report("reading", len(corpus.articles), len(corpus.articles))
    if not corpus.articles:
        raise UsageError(
            f"No readable articles in {settings.corpus} ({len(corpus.skipped)} files skipped): "
            "add .txt, .md, .html, .json or .jsonl files, or point --corpus elsewhere."
        )
    return corpus, prints


def _rechunk(
    corpus: CorpusRead,
    changes: Changes,
    previous: store.LoadedIndex | None,
    settings: Settings,
    embedder: Embedder,
    report: Progress,
) -> _Rechunked:
    """Chunk the added and changed articles.

    One headline rule for both retrievers: a boilerplate headline is left out of the model's
    input as it is out of BM25's field. An unchanged article whose headline changed sides (the
    corpus around it grew or shrank) is re-chunked too, since its model input changed.
    """
    boilerplate = bm25.boilerplate_templates([a.title for a in corpus.articles])
    before = set(previous.data.manifest.get("boilerplate_headlines", [])) if previous else set()
    flipped = {
        a.id
        for a in corpus.articles
        if (headline_template(a.title) in before) != (headline_template(a.title) in boilerplate)
    }
    todo = {*changes.added, *changes.changed} | (flipped if previous else set())
    articles = [a for a in corpus.articles if a.id in todo]
    chunks, inputs, failed = _chunk(articles, settings, embedder, report, boilerplate)
    failed_paths = {f.path for f in failed}
    return _Rechunked(
        chunks=chunks,
        inputs=inputs,
        hashes=[text_hash(x, s) for x, s in zip(inputs, inputs.spans, strict=True)],
        articles=todo,
        failed=failed,
        failed_ids={a.id for a in articles if _failed_path(a) in failed_paths},
        boilerplate=boilerplate,
        boilerplate_before=before,
    )


def _plan_rows(
    corpus: CorpusRead,
    fresh: _Rechunked,
    previous: store.LoadedIndex | None,
    embedder: Embedder,
) -> _Rows:
    """The rows of the new index: an unchanged article keeps its previous rows; a re-chunked
    one's chunks take the vectors of a previous row with the same model input when there is
    one, else are embedded (each distinct text once)."""
    old_rows, old_hashes = (
        _cache(previous, embedder, fresh.boilerplate_before) if previous else ({}, ())
    )
    cache = {h: r for r, h in enumerate(old_hashes)}
    new_by_article: dict[str, list[int]] = {}
    for k in range(len(fresh.chunks)):
        new_by_article.setdefault(fresh.chunks.article_id(k), []).append(k)
    rows = _Rows(old=previous.data.chunks if previous else (), new=fresh.chunks)
    position: dict[str, int] = {}  # text hash -> position among the texts to embed
    for article in corpus.articles:
        if article.id in fresh.failed_ids:
            continue
        if article.id not in fresh.articles:
            for r in old_rows.get(article.id, ()):
                rows.hashes.append(old_hashes[r])
                rows.cached.append(r)
                rows.embedded.append(None)
                rows.kept.append(r)
                rows.made.append(None)
            continue
        for k in new_by_article.get(article.id, ()):
            h = fresh.hashes[k]
            rows.hashes.append(h)
            rows.kept.append(None)
            rows.made.append(k)
            rows.cached.append(cache.get(h))
            if h in cache:
                rows.embedded.append(None)
                continue
            if h not in position:
                position[h] = len(rows.to_embed)
                rows.to_embed.append(k)
            rows.embedded.append(position[h])
    return rows


def _embed(
    settings: Settings,
    embedder: Embedder,
    fresh: _Rechunked,
    rows: _Rows,
    report: Progress,
    tmp: Path,
) -> DocumentVectors:
    """Embed the texts the rows need, with progress; their vectors are written to scratch
    files in the temporary generation `tmp` (the sentences' in float16, as they are stored),
    and their model inputs are made batch by batch."""
    total, done = len(rows.to_embed), 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        report("embedding", done, total)

    report("embedding", 0, total)
    inputs = fresh.inputs.select(rows.to_embed)
    sentences = sum(fresh.chunks.sentence_count(k) for k in rows.to_embed)
    spans_out = store.sentence_file(tmp, sentences, embedder.dim, "embedded.npy")
    vectors_out = store.scratch_file(tmp, len(inputs), embedder.dim, "embedded-chunks.npy")
    return _encode(settings, embedder, inputs, advance, spans_out, vectors_out)


def _manifest(
    settings: Settings,
    embedder: Embedder,
    kept: list[Article],
    rows: _Rows,
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    fresh: _Rechunked,
    prints: dict,
    skipped: list[Skipped],
) -> dict[str, Any]:
    """What the generation's manifest says of it (`qa.index.store` adds files and sizes)."""
    by_file: dict[str, list[str]] = {}
    for a in kept:
        by_file.setdefault(a.path or "", []).append(a.id)
    return {
        "model": settings.model,
        "dimension": embedder.dim,
        "max_seq_length": embedder.max_tokens,
        "precision": embedder.precision,
        "faiss": ann.choose(settings.index_type, len(rows.chunks)).to_json(),
        "chunking": chunking_params(settings),
        "keyword": keyword_params(),
        "boilerplate_headlines": sorted(fresh.boilerplate),
        # how close off-topic questions come to this index (qa.index.calibration)
        "calibration": calibration.measure(vectors, embedder).to_json(),
        "corpus": str(settings.corpus.resolve()),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "counts": {
            "articles": len(kept),
            "chunks": len(rows.chunks),
            "sentences": int(len(sentence_vectors)),
            "skipped": len(skipped),
        },
        "articles": {a.id: a.content_hash for a in kept},
        # Fingerprints taken before reading, so a file changed mid-build shows up as stale.
        "corpus_files": {
            rel: {"stat": stat, "articles": by_file.get(rel, [])} for rel, stat in prints.items()
        },
    }


def _encode(
    settings: Settings,
    embedder: Embedder,
    inputs: ModelInputs,
    on_batch: Callable[[int], None],
    spans_out: np.ndarray,
    vectors_out: np.ndarray,
) -> DocumentVectors:
    """The chunk and sentence vectors, in this process or on Ray (`settings.engine`)."""
    spans, size = inputs.spans, settings.batch_size
    if settings.engine == "ray":
        from qa.index import distributed

        address = settings.ray_address or None
        return distributed.encode_documents(
            embedder, inputs, spans, size, address, on_batch, spans_out, vectors_out
        )
    return embedder.encode_documents(inputs, spans, size, on_batch, spans_out, vectors_out)


def _keyword_index(
    chunks: Sequence[Chunk],
    kept_rows: list[int | None],
    titles: dict[str, str],
    boilerplate: set[str],
    previous: store.LoadedIndex | None,
    report: Progress,
    tmp: Path,
) -> bm25.KeywordIndex:
    """BM25 over `chunks`: chunks kept from `previous` reuse its tokens, the rest are tokenized.
    Its arrays are written to scratch files in the temporary generation `tmp` as they are made.

    A kept chunk's headline is on the same side of the boilerplate rule as before (an article
    whose headline changed sides is re-chunked, so none of its chunks is kept).
    """
    reusable = (
        previous is not None
        and previous.keyword is not None
        and previous.data.manifest.get("keyword") == keyword_params()
    )
    rows: list[int | None] = list(kept_rows) if reusable else [None] * len(chunks)
    fresh = [i for i, r in enumerate(rows) if r is None]
    report("keywords", 0, len(fresh))
    texts = (  # made, tokenized and turned into token ids one at a time
        bm25.keyword_text(titles[chunks[i].article_id], chunks[i].text, boilerplate) for i in fresh
    )
    words = bm25.each_tokenized(texts)
    each = (next(words) if r is None else r for r in rows)
    if reusable:
        index = bm25.rebuild(previous.keyword, each, tmp)  # type: ignore[union-attr,arg-type]
    else:
        index = bm25.build(each, tmp)  # type: ignore[arg-type]
    report("keywords", len(fresh), len(fresh))
    return index


def _nothing_to_write(
    previous: store.LoadedIndex, settings: Settings, changes: Changes, prints: dict
) -> bool:
    """No article changed and the manifest already describes these very files."""
    manifest = previous.data.manifest
    files = manifest.get("corpus_files")
    wanted = ann.choose(settings.index_type, manifest.get("counts", {}).get("chunks", 0))
    return (
        not changes.count
        and ann.Spec.from_json(manifest.get("faiss")) == wanted
        and manifest.get("keyword") == keyword_params()
        and manifest.get("corpus") == str(settings.corpus.resolve())
        and files is not None
        and {rel: f.get("stat") for rel, f in files.items()} == prints
        and bool(previous.data.text_hashes or not previous.data.chunks)
    )


def _cache(
    previous: store.LoadedIndex, embedder: Embedder, boilerplate: set[str]
) -> tuple[dict[str, list[int]], tuple[str, ...]]:
    """Rows of each article in the previous generation, and each row's text hash.

    Hashes are stored since they were introduced; for an older index they are recomputed
    from its articles and chunks (no model call: only the titles' token counts).
    """
    rows: dict[str, list[int]] = {}
    for r, chunk in enumerate(previous.data.chunks):
        rows.setdefault(chunk.article_id, []).append(r)
    if previous.data.text_hashes:
        return rows, previous.data.text_hashes
    articles = previous.data.articles
    ids = list(rows)
    heads = headlines([articles[i] for i in ids], embedder, boilerplate)
    prefixes = dict(zip(ids, heads, strict=True))
    hashes = tuple(
        text_hash(*embed_input(c, prefixes[c.article_id][0])) for c in previous.data.chunks
    )
    return rows, hashes


def _assemble(
    rows: _Rows, previous: store.LoadedIndex | None, new: DocumentVectors, dim: int, tmp: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk and sentence vectors in the rows' order, from the previous generation's rows and
    the texts embedded now, copied block by block into the temporary generation's files (on
    disk, so neither source nor the result is held whole)."""
    vectors = store.scratch_file(tmp, len(rows.chunks), dim, "chunk-vectors.npy")
    cached = np.array([-1 if r is None else r for r in rows.cached], dtype=np.int64)
    fresh = np.array([-1 if k is None else k for k in rows.embedded], dtype=np.int64)
    for start in range(0, len(vectors), _COPY_ROWS):  # a copy of 12 MB at a time
        block = slice(start, start + _COPY_ROWS)
        old, new_rows = cached[block], fresh[block]
        if previous is not None and (old >= 0).any():
            vectors[block][old >= 0] = previous.data.vectors[old[old >= 0]]
        if (new_rows >= 0).any():
            vectors[block][new_rows >= 0] = new.vectors[new_rows[new_rows >= 0]]

    def sentences_of(row: int) -> np.ndarray:  # the row's sentence vectors, a view
        old = rows.cached[row]
        if old is not None:
            o = previous.sentence_offsets  # type: ignore[union-attr]
            return previous.data.sentence_vectors[o[old] : o[old + 1]]  # type: ignore[union-attr]
        return new.span_vectors[rows.embedded[row]]  # type: ignore[index]

    total = sum(len(sentences_of(row)) for row in range(len(vectors)))
    sentences = store.sentence_file(tmp, total, dim)
    at = 0
    for row in range(len(vectors)):
        rows_of_chunk = sentences_of(row)
        sentences[at : at + len(rows_of_chunk)] = rows_of_chunk
        at += len(rows_of_chunk)
    return vectors, sentences


_COPY_ROWS = 8192  # chunk vectors copied into row order at a time


def chunk_corpus(
    articles: list[Article], settings: Settings, embedder: Embedder, report: Progress
) -> tuple[PackedChunks, ModelInputs, Sequence[list[Span]]]:
    """Chunks of every article, the text the model sees for each, and its sentence spans."""
    boilerplate = bm25.boilerplate_templates([a.title for a in articles])
    chunks, inputs, failed = _chunk(articles, settings, embedder, report, boilerplate)
    if failed:
        raise UsageError(f"Could not chunk {failed[0].path}: {failed[0].reason}")
    return chunks, inputs, inputs.spans


def _chunk(
    articles: list[Article],
    settings: Settings,
    embedder: Embedder,
    report: Progress,
    boilerplate: set[str],
) -> tuple[PackedChunks, ModelInputs, list[Skipped]]:
    """`chunk_corpus`, plus the articles that failed as `Skipped` (path `file#article id`):
    one article that cannot be chunked is reported and left out, the others go on."""
    chunks = PackedChunks()
    heads: list[str] = []
    failed: list[Skipped] = []
    report("chunking", 0, len(articles))
    prefixes = headlines(articles, embedder, boilerplate)
    for i, (article, (prefix, n_title)) in enumerate(zip(articles, prefixes, strict=True)):
        budget = settings.chunk_tokens - 2 - n_title
        try:
            found = chunk_article(
                article.id, article.text, embedder.count_tokens, budget, settings.chunk_overlap
            )
        except Exception as error:  # one bad article must not stop the build: report it
            reason = f"chunking failed ({type(error).__name__}: {error})"
            failed.append(Skipped(_failed_path(article), reason))
            continue
        chunks.add(article.id, article.text, found)
        heads.extend([prefix] * len(found))
        if i % 100 == 0 or i == len(articles) - 1:
            report("chunking", i + 1, len(articles))
    return chunks, ModelInputs(chunks, heads), failed


def _failed_path(article: Article) -> str:
    return f"{article.path}#{article.id}" if article.path else f"#{article.id}"
