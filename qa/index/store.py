"""The index folder format: write a generation atomically, load it, verify it.

    index/
      CURRENT              name of the generation in use (replaced atomically)
      gen-<time>-<id>/     one complete index:
        manifest.json      model, dimension, chunking, article hashes, counts, file sizes
        vectors.faiss      FAISS index over chunk vectors (flat, HNSW or IVF: `qa.index.ann`, the
                           manifest's `faiss`); FAISS id = row of the chunk table
        chunks.sqlite      the chunk table, one row per chunk in FAISS id order, with
                           `text_hash`: the hash of the exact model input (see
                           `qa.embed.inputs.text_hash`), so the vectors of this generation are the
                           vector cache of the next update; read row by row (`qa.index.chunktable`).
                           A generation written before it has `chunks.jsonl` instead
        articles.jsonl     the cleaned articles (excerpts and quotes are cut from their text)
        sentences.npy      float16 vectors of every chunk's sentences, rows in chunk order
        bm25/              the keyword index over the same chunk rows (see `qa.index.bm25`)

      .lock, .writer       the writers' lock (one build or update at a time) and its holder

A build writes `.tmp-*` beside the live generation, renames it into place and then swaps
CURRENT, so a crash at any moment leaves the previous generation whole and in use. Writers hold
`.lock` for the whole build; readers never take it: they follow CURRENT, which only ever names
a complete generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexMissing, UsageError
from qa.index import ann, bm25, chunktable
from qa.index.calibration import Background
from qa.ingest.chunking import Chunk
from qa.ingest.corpus import Article

FORMAT_VERSION = 1
CURRENT = "CURRENT"
SENTENCES = "sentences.npy"
FILES = ("vectors.faiss", chunktable.FILE, "articles.jsonl", SENTENCES)
LOCK = ".lock"
WRITER = ".writer"  # who holds the lock: pid and start time, for the message a second writer gets


@dataclass(frozen=True)
class IndexData:
    """Everything an index holds, in memory: what a build writes and a load returns."""

    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: Sequence[Chunk]  # a list when built, a `chunktable.ChunkTable` when loaded
    # (n_chunks, dim) float32; when loaded, a view into the FAISS index (`ann.rows_of`; for
    # IVF rows read back on demand)
    vectors: np.ndarray
    sentence_vectors: np.ndarray  # (n_sentences, dim) float16, chunk by chunk
    # per chunk, the hash of what the model saw; () for an index written before they were kept
    text_hashes: tuple[str, ...] = ()
    # BM25 over the same rows; None for an index written before it was kept (dense only)
    keyword: bm25.KeywordIndex | None = None


@dataclass(frozen=True)
class LoadedIndex:
    folder: Path  # the generation folder
    data: IndexData
    faiss_index: Any
    sentence_offsets: np.ndarray  # (n_chunks + 1,) int64: chunk i owns sentence rows o[i]:o[i+1]
    # How close off-topic questions come to this index (`qa.index.calibration`): the manifest's, or
    # measured by `Engine.load` for an index built before it was kept; None until then.
    background: Background | None = None

    @property
    def keyword(self) -> bm25.KeywordIndex | None:
        return self.data.keyword

    @property
    def row_articles(self) -> Sequence[str]:
        """The article id of every chunk row, without decoding the chunks."""
        chunks = self.data.chunks
        if isinstance(chunks, chunktable.ChunkTable):
            return chunks.article_ids
        return [c.article_id for c in chunks]


def current_generation(root: Path) -> Path | None:
    """The generation folder CURRENT points to, or None when no index was ever built."""
    name = current_name(root)
    return None if name is None else root / name


def current_name(root: Path) -> str | None:
    """The name CURRENT holds: one small read, cheap enough to check before every question.

    None when no index was ever built; `IndexCorrupt` when CURRENT holds anything but the name
    of a generation folder of this index (bad bytes, a NUL, a path such as `../other/gen-x`).
    """
    try:
        raw = (root / CURRENT).read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        raise IndexCorrupt(str(root), f"{CURRENT} cannot be read: {error.strerror}") from None
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        name = None
    if not name:
        return None if raw.strip() == b"" else _bad_current(root, raw)
    if not _GENERATION.fullmatch(name):
        return _bad_current(root, raw)
    return name


_GENERATION = re.compile(r"gen-[A-Za-z0-9-]{1,80}")  # what `save` names a generation


def _bad_current(root: Path, raw: bytes) -> str:
    shown = raw[:60].decode("utf-8", "backslashreplace").strip()
    raise IndexCorrupt(str(root), f"{CURRENT} holds {shown!r}, not a generation of this index")


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold the index's writer lock, or raise `IndexLocked` naming the holder's pid at once.

    The lock is an OS file lock (`filelock`), so a killed writer releases it with its process.
    """
    from filelock import FileLock, Timeout

    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file, not an index folder: pass --index with a folder.")
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(root / LOCK, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise IndexLocked(
            f"Another build ({_holder(root)}) is writing the index in {root}: wait for it to "
            "finish, or stop that process, then run the command again."
        ) from None
    writer = root / WRITER
    try:
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        writer.write_text(f"{os.getpid()} {started}\n", encoding="utf-8")
        yield
    finally:
        writer.unlink(missing_ok=True)
        lock.release()


def _holder(root: Path) -> str:
    try:
        pid, started = (root / WRITER).read_text(encoding="utf-8").split(" ", 1)
    except (OSError, ValueError):
        return "pid unknown"
    return f"pid {pid}, started {started.strip()}"


def read_manifest(root: Path) -> dict[str, Any]:
    gen = current_generation(root)
    if gen is None:
        raise IndexMissing(str(root))
    return _manifest_at(root, gen)


def _manifest_at(root: Path, gen: Path) -> dict[str, Any]:
    """The generation's manifest: a JSON object whose `files` maps names to sizes, or
    `IndexCorrupt` saying how it is not (the one place its bytes are read)."""
    try:
        manifest = json.loads((gen / "manifest.json").read_bytes().decode("utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise IndexCorrupt(str(root), f"{gen.name}/manifest.json is missing") from None
    except OSError as e:
        raise IndexCorrupt(str(root), f"manifest.json cannot be read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise IndexCorrupt(str(root), "manifest.json is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise IndexCorrupt(str(root), f"manifest.json is not valid JSON: {e}") from None
    except RecursionError:
        raise IndexCorrupt(str(root), "manifest.json is nested too deeply") from None
    if not isinstance(manifest, dict):
        raise IndexCorrupt(str(root), "manifest.json is not an index manifest")
    for key, (needed, what, fits) in _FIELDS.items():
        value = manifest.get(key)
        if value is None and not needed:
            manifest.pop(key, None)  # null reads as absent, so readers need one default
            continue
        if value is None or not fits(value):
            shown = "missing" if key not in manifest else f"not {what}"
            raise IndexCorrupt(str(root), f"manifest.json: {key!r} is {shown}")
    return manifest


def _is_int(value: Any) -> bool:
    return type(value) is int  # JSON true/false are not counts


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _map_of(fits: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, dict) and all(fits(x) for x in v.values())


def _list_of(fits: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and all(fits(x) for x in v)


def _file_names(value: Any) -> bool:
    """File sizes keyed by names inside the generation folder (never `..` or absolute)."""
    return _map_of(_is_int)(value) and all(
        name and not Path(name).is_absolute() and ".." not in Path(name).parts for name in value
    )


def _fingerprint(value: Any) -> bool:
    return isinstance(value, dict) and _list_of(_is_str)(value.get("articles", []))


def _faiss_spec(value: Any) -> bool:
    if not isinstance(value, dict) or value.get("kind") not in ann.KINDS[1:]:
        return False
    return set(value) <= {"kind", "m", "ef_construction", "nlist"} and all(
        _is_int(v) and v > 0 for k, v in value.items() if k != "kind"
    )


# What each manifest field must be, so that every reader (`qa index info`, verify, load) may use
# it as it finds it: (needed, what it is, test). Optional fields may be absent or null.
_FIELDS: dict[str, tuple[bool, str, Callable[[Any], bool]]] = {
    "format": (True, "a number", _is_int),
    "model": (True, "a model name", _is_str),
    "dimension": (True, "a number", lambda v: _is_int(v) and v > 0),
    "chunking": (True, "an object", lambda v: isinstance(v, dict)),
    "files": (True, "an object of file sizes", _file_names),
    "counts": (True, "an object of counts", _map_of(_is_int)),
    "checksums": (False, "an object of SHA-256 digests", _map_of(_is_str)),
    "articles": (False, "an object of article hashes", _map_of(_is_str)),
    "corpus_files": (False, "an object of file fingerprints", _map_of(_fingerprint)),
    "faiss": (False, "a FAISS index description", _faiss_spec),
    "keyword": (False, "an object", lambda v: isinstance(v, dict)),
    "calibration": (False, "an object", lambda v: isinstance(v, dict)),
    "boilerplate_headlines": (False, "a list of headlines", _list_of(_is_str)),
    "max_seq_length": (False, "a number", _is_int),
    **{key: (False, "text", _is_str) for key in ("corpus", "built_at", "generation", "precision")},
}


def start(root: Path) -> Path:
    """A new, empty temporary generation folder: a build may write its largest arrays there as
    it goes (`sentence_file`), and `save` finishes it. A killed build's is removed by the next.
    """
    root.mkdir(parents=True, exist_ok=True)
    # microseconds in the name: two builds within one second still sort in the order they ran
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now)) + f"{int(now % 1 * 1e6):06d}"
    tmp = root / f".tmp-gen-{stamp}-{uuid.uuid4().hex[:6]}"
    tmp.mkdir()
    return tmp


def sentence_file(tmp: Path, rows: int, dim: int, name: str = SENTENCES) -> np.ndarray:
    """A float16 `(rows, dim)` array on disk in the temporary generation, filled by the build
    and read back by the page: the sentence vectors never need to fit in memory at once."""
    return np.lib.format.open_memmap(tmp / name, mode="w+", dtype=np.float16, shape=(rows, dim))


def scratch_file(tmp: Path, rows: int, dim: int, name: str) -> np.ndarray:
    """A float32 `(rows, dim)` array on disk in the temporary generation, for the chunk
    vectors on their way to FAISS (which reads them in blocks); `save` deletes it."""
    return np.lib.format.open_memmap(tmp / name, mode="w+", dtype=np.float32, shape=(rows, dim))


def save(
    root: Path,
    data: IndexData,
    on_file: Callable[[int, int], None] | None = None,
    tmp: Path | None = None,
) -> Path:
    """Write `data` as a new generation and make it current; returns the generation folder.

    `tmp` is the folder from `start` when the build wrote into it already (its
    `sentences.npy` is then kept as written); `on_file(done, total)` is told as each of the
    generation's files is written.
    """
    import faiss

    if data.text_hashes and len(data.text_hashes) != len(data.chunks):
        raise ValueError(f"{len(data.text_hashes)} text hashes for {len(data.chunks)} chunks")
    if data.keyword is not None and data.keyword.size != len(data.chunks):
        raise ValueError(f"a keyword index of {data.keyword.size} rows for {len(data.chunks)}")
    step = on_file or (lambda done, total: None)
    total = len(FILES) + 1
    tmp = tmp or start(root)
    name = tmp.name.removeprefix(".tmp-")
    step(0, total)
    index = ann.build(ann.Spec.from_json(data.manifest.get("faiss")), data.vectors)
    faiss.write_index(index, str(tmp / "vectors.faiss"))
    step(1, total)
    hashes = data.text_hashes or (None,) * len(data.chunks)
    chunktable.write(tmp / chunktable.FILE, data.chunks, hashes)
    step(2, total)
    _write_jsonl(tmp / "articles.jsonl", (vars(a) for a in data.articles.values()))
    step(3, total)
    sentences = data.sentence_vectors
    if isinstance(sentences, np.memmap) and _same_file(sentences.filename, tmp / SENTENCES):
        sentences.flush()  # written as the build went
    else:
        with open(tmp / SENTENCES, "wb") as f:
            np.save(f, sentences.astype(np.float16))
    step(4, total)
    written = [tmp / f for f in FILES]
    if data.keyword is not None:
        written += bm25.save(data.keyword, tmp)
    for extra in set(tmp.iterdir()) - set(written):  # a build's scratch files go
        if extra.is_file():
            extra.unlink()
    manifest = dict(data.manifest, generation=name, format=FORMAT_VERSION)
    manifest["files"] = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in written}
    manifest["checksums"] = {p.relative_to(tmp).as_posix(): _digest(p) for p in written}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _fsync_tree(tmp)
    step(5, total)
    os.rename(tmp, root / name)
    pointer = root / f".{CURRENT}.{name}"
    pointer.write_text(name + "\n", encoding="utf-8")
    _fsync_file(pointer)
    os.replace(pointer, root / CURRENT)
    _fsync_file(root)
    cleanup(root, keep={name})
    return root / name


def _same_file(mapped: object, path: Path) -> bool:
    """Whether a memmap's file is `path` (numpy keeps it absolute; `path` may be relative).
    Reopening the mapped file for writing would truncate it under its own mapping."""
    return mapped is not None and path.exists() and os.path.samefile(str(mapped), path)


def cleanup(root: Path, keep: set[str]) -> None:
    """Remove temporary folders of killed builds and generations older than the previous one.

    One previous generation is kept so a reader that read CURRENT just before the swap can
    still open the files it was pointed at.
    """
    gens = sorted(p for p in root.glob("gen-*") if p.is_dir())
    previous = [p.name for p in gens if p.name not in keep][-1:]
    for path in root.iterdir():
        stale_gen = path.name.startswith("gen-") and path.name not in keep | set(previous)
        if path.name.startswith(".tmp-") or stale_gen:
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{CURRENT}."):
            path.unlink(missing_ok=True)


def load(root: Path, expect: dict[str, Any]) -> LoadedIndex:
    """Load the current generation, refusing one built with settings other than `expect`.

    `expect` maps manifest keys (model, dimension, chunking) to the values the caller needs.
    """
    gen = current_generation(root)  # read once: a swap meanwhile cannot mix two generations
    if gen is None:
        raise IndexMissing(str(root))
    manifest = _manifest_at(root, gen)
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatch(str(root), f"format {manifest.get('format')}, need {FORMAT_VERSION}")
    for key, want in expect.items():
        if manifest.get(key) != want:
            raise IndexMismatch(str(root), f"{key} is {manifest.get(key)!r}, need {want!r}")
    check_files(root, gen, manifest)
    unlisted = sorted(_generation_files(gen) - set(manifest["files"]))
    if unlisted:
        raise IndexCorrupt(str(root), f"{unlisted[0]} is not in the manifest")
    try:
        index = ann.read(gen / "vectors.faiss")
        if (gen / chunktable.FILE).is_file():
            table = chunktable.ChunkTable(gen / chunktable.FILE)
            chunks: Sequence[Chunk] = table
            hashes = table.text_hashes
        else:  # a generation written before the table moved to SQLite
            rows = _read_jsonl(gen / "chunks.jsonl")
            hashes = tuple(r.pop("text_hash", None) or "" for r in rows)
            chunks = [_chunk_from_row(r) for r in rows]
        articles = {a["id"]: Article(**a) for a in _read_jsonl(gen / "articles.jsonl")}
        sentence_vectors = np.load(gen / SENTENCES, mmap_mode="r")  # read as needed
        keywords = bm25.load(gen) if "keyword" in manifest else None
    except (RuntimeError, ValueError, KeyError, TypeError, OSError, sqlite3.Error) as e:
        raise IndexCorrupt(str(root), f"{type(e).__name__}: {e}") from None
    if index.ntotal != len(chunks):
        raise IndexCorrupt(str(root), f"{index.ntotal} vectors for {len(chunks)} chunks")
    counts = np.array([len(c.sentences) for c in chunks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    if len(sentence_vectors) != offsets[-1]:
        raise IndexCorrupt(str(root), "sentence vectors do not match the chunk table")
    if keywords is not None and keywords.size != len(chunks):
        raise IndexCorrupt(str(root), "the keyword index does not match the chunk table")
    width = sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else -1
    if index.d != manifest["dimension"] or width != manifest["dimension"]:
        detail = f"vectors of {index.d} numbers, the manifest says {manifest['dimension']}"
        raise IndexCorrupt(str(root), detail)
    vectors = ann.rows_of(index)  # a view into the index where it can be (no second copy)
    hashes = hashes if all(hashes) else ()
    data = IndexData(manifest, articles, chunks, vectors, sentence_vectors, hashes, keywords)
    try:
        background = Background.from_json(manifest["calibration"])
    except (KeyError, TypeError, ValueError):
        background = None  # an index from before it was kept: measured when loaded
    return LoadedIndex(gen, data, index, offsets, background)


def check_files(root: Path, gen: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is there, of its size and, where the manifest keeps
    checksums (generations written since), of its SHA-256: a flipped byte in the vectors would
    otherwise change answers silently. Hashing reads each file once (0.3 s for the 69 MB of
    the BBC index, 0.9 s for the 345 MB of RealTime QA's here); `IndexCorrupt` names the
    first file that differs."""
    checksums = manifest.get("checksums") or {}
    for name, size in manifest["files"].items():
        path = gen / name
        if not path.is_file():
            raise IndexCorrupt(str(root), f"{name} is missing")
        if path.stat().st_size != size:
            raise IndexCorrupt(str(root), f"{name} has {path.stat().st_size} bytes, not {size}")
        if name in checksums and _digest(path) != checksums[name]:
            raise IndexCorrupt(str(root), f"{name} does not match its checksum")


def verify(root: Path, expect: dict[str, Any]) -> dict[str, Any]:
    """`qa index info --verify`: everything `load` checks, and a checksum for every file (an
    index that keeps none could be damaged unseen); returns the manifest or raises."""
    manifest = load(root, expect).data.manifest
    unchecked = sorted(set(manifest["files"]) - set(manifest.get("checksums") or {}))
    if unchecked:
        raise IndexCorrupt(
            str(root), f"no checksum is kept for {unchecked[0]}: it cannot be checked"
        )
    return manifest


def _generation_files(gen: Path) -> set[str]:
    """Every file of a generation but its manifest, as the manifest names them."""
    found = {p.relative_to(gen).as_posix() for p in gen.rglob("*") if not p.is_dir()}
    return found - {"manifest.json"}


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _chunk_from_row(row: dict[str, Any]) -> Chunk:
    return Chunk(**dict(row, sentences=tuple(tuple(s) for s in row["sentences"])))


def _write_jsonl(path: Path, rows: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            _fsync_tree(path)
        else:
            _fsync_file(path)
    _fsync_file(folder)
