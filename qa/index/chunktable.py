"""The chunk table of a generation on disk (`chunks.sqlite`), read row by row as answers need.

Why SQLite: it is in the standard library, reads one row by its key without loading the rest,
and a generation's file never changes once written, so it is opened `immutable` and read from
any number of threads through one connection. Holding the table as Python objects cost about
145 MB at 37,654 chunks (with the articles); here a serving process keeps each row's article
id (for filters), its text hash (for updates) and the last few thousand chunks it read.
Arrow would map columns as well, but answers ask for scattered single rows, which is what an
indexed table is for.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from qa.ingest.chunking import Chunk

FILE = "chunks.sqlite"
CACHED = 4096  # chunks kept decoded
_COLUMNS = "article_id, chunk_id, start, end_, text, sentences"


def write(path: Path, chunks: Iterable[Chunk], hashes: Iterable[str | None]) -> None:
    """Write the chunks, in row order, with the hash of each one's model input."""
    con = sqlite3.connect(path)
    try:
        con.execute(
            "CREATE TABLE chunks (row INTEGER PRIMARY KEY, article_id TEXT NOT NULL, "
            "chunk_id TEXT NOT NULL, start INTEGER NOT NULL, end_ INTEGER NOT NULL, "
            "text TEXT NOT NULL, sentences TEXT NOT NULL, text_hash TEXT)"
        )
        con.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    row,
                    c.article_id,
                    c.chunk_id,
                    c.start,
                    c.end,
                    c.text,
                    json.dumps(c.sentences),
                    h,
                )  # fmt: skip
                for row, (c, h) in enumerate(zip(chunks, hashes, strict=True))
            ),
        )
        con.commit()
    finally:
        con.close()


class ChunkTable(Sequence[Chunk]):
    """The rows of `chunks.sqlite` as a sequence of `Chunk`, decoded when asked for."""

    def __init__(self, path: Path) -> None:
        uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
        # One connection, opened now and shared under a lock: the file stays readable even if
        # a later build's cleanup deletes this generation while a question still reads it
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        rows = self._con.execute("SELECT article_id, text_hash FROM chunks ORDER BY row").fetchall()
        self.article_ids: tuple[str, ...] = tuple(r[0] for r in rows)
        hashes = tuple(r[1] or "" for r in rows)
        self.text_hashes: tuple[str, ...] = hashes if all(hashes) else ()
        self._row = functools.lru_cache(maxsize=CACHED)(self._read)

    def _read(self, row: int) -> Chunk:
        with self._lock:
            found = self._con.execute(
                f"SELECT {_COLUMNS} FROM chunks WHERE row = ?", (row,)
            ).fetchone()
        return _chunk(found)

    def __len__(self) -> int:
        return len(self.article_ids)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self._row(i) for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {row} of {len(self)}")
        return self._row(row)

    def __iter__(self) -> Iterator[Chunk]:
        """Every chunk in row order, read in batches (not cached)."""
        for start in range(0, len(self), 1024):
            with self._lock:
                batch = self._con.execute(
                    f"SELECT {_COLUMNS} FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                    (start, start + 1024),
                ).fetchall()
            yield from map(_chunk, batch)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


def _chunk(found: tuple) -> Chunk:
    article_id, chunk_id, start, end, text, sentences = found
    spans = tuple(tuple(s) for s in json.loads(sentences))
    return Chunk(article_id, chunk_id, start, end, text, spans)  # type: ignore[arg-type]
