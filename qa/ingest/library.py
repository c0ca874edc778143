"""The corpus folder as files: list them, fingerprint them, add uploads, remove an article.

Everything here works on files only and never touches the index: after adding or removing
articles the user runs `qa index update` (or presses "Update index" in the chat).

Uploads are treated as untrusted: only the base name of what the browser sent is kept, reduced
to safe characters; other extensions, empty or oversized files and files with no readable
article are refused with the reason; an existing file is never overwritten (the upload gets a
`-2`, `-3`... suffix and the report says so). Files are written under a hidden temporary name
and linked into place, so a build reading the folder never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.errors import UsageError
from qa.ingest.corpus import Article, read_file

# What `qa.ingest.corpus.read_corpus` reads (a test keeps the two lists equal).
ARTICLE_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_FILES = 20
_MAX_NAME = 100
_UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of any script, and "_"


def corpus_base(corpus: Path) -> Path:
    """The folder article paths are relative to: the corpus folder, or a corpus file's folder."""
    return corpus.parent if corpus.is_file() else corpus


def corpus_files(corpus: Path) -> dict[str, Path]:
    """Article files of the corpus by relative path, as `read_corpus` sees them (hidden pruned)."""
    if corpus.is_file():
        return {corpus.name: corpus}
    found: dict[str, Path] = {}
    for folder, dirnames, filenames in os.walk(corpus):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in ARTICLE_SUFFIXES:
                path = Path(folder, name)
                found[path.relative_to(corpus).as_posix()] = path
    return found


def fingerprint(corpus: Path) -> dict[str, list[int]]:
    """`{relative path: [size, mtime_ns]}` of every article file: a cheap "did anything change"."""
    prints = {}
    for rel, path in corpus_files(corpus).items():
        try:
            st = path.stat()
        except OSError:
            continue
        prints[rel] = [st.st_size, st.st_mtime_ns]
    return dict(sorted(prints.items()))


# --- uploads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Added:
    """What happened to each uploaded file: saved (maybe renamed) or refused, with why."""

    saved: list[tuple[str, str]]  # (name as uploaded, name in the corpus folder)
    renamed: list[tuple[str, str]]  # the subset of `saved` stored under another name
    refused: list[tuple[str, str]]  # (name as uploaded, reason)

    def summary(self) -> str:
        lines = []
        for original, stored in self.saved:
            note = f" (a file named {safe_name(original)} exists: saved as {stored})"
            lines.append(f"added {original}" + (note if (original, stored) in self.renamed else ""))
        lines += [f"refused {original}: {reason}" for original, reason in self.refused]
        if self.saved:
            lines.append("Run the index update to make the new articles searchable.")
        return "\n".join(lines) or "No files."


def safe_name(name: str) -> str:
    """The base name of `name`, reduced to letters, digits, `.`, `_` and `-`, never hidden.

    Both `/` and `\\` count as folder separators, so no upload can name a path outside the
    corpus folder. Returns "" when nothing usable is left.
    """
    base = re.split(r"[/\\]", unicodedata.normalize("NFKC", name))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[: _MAX_NAME - len(suffix) - 1]
    suffix = _UNSAFE.sub("", suffix).lower()
    if not stem:
        return ""
    return f"{stem}.{suffix}" if suffix else stem


def add_files(corpus: Path, uploads: list[tuple[str, Path]]) -> Added:
    """Copy `(name as uploaded, file)` pairs into the corpus folder, checking each one."""
    folder = _writable_folder(corpus)
    if len(uploads) > MAX_UPLOAD_FILES:
        raise UsageError(
            f"{len(uploads)} files at once is over the limit of {MAX_UPLOAD_FILES}: "
            "upload them in smaller groups."
        )
    saved, renamed, refused = [], [], []
    for original, source in uploads:
        try:
            stored = _add_one(folder, original, Path(source))
        except _Refused as why:
            refused.append((original, str(why)))
            continue
        saved.append((original, stored))
        if stored != safe_name(original):
            renamed.append((original, stored))
    return Added(saved, renamed, refused)


class _Refused(Exception):
    pass


def _writable_folder(corpus: Path) -> Path:
    if corpus.is_file():
        raise UsageError(
            f"The corpus is the single file {corpus}: point QA_CORPUS at a folder to add "
            "articles from the chat."
        )
    corpus.mkdir(parents=True, exist_ok=True)
    return corpus


def _add_one(folder: Path, original: str, source: Path) -> str:
    name = safe_name(original)
    suffix = Path(name).suffix.lower()
    if not name or suffix not in ARTICLE_SUFFIXES:
        allowed = ", ".join(ARTICLE_SUFFIXES)
        raise _Refused(f"not an article file (allowed: {allowed})")
    size = source.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise _Refused(f"{size / 1e6:.1f} MB is over the limit of {MAX_UPLOAD_BYTES / 1e6:.0f} MB")
    if size == 0:
        raise _Refused("the file is empty")
    data = source.read_bytes()
    tmp = folder / f".upload-{os.getpid()}-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    tmp.write_bytes(data)
    try:
        articles, skipped = read_file(tmp, folder)
        if not articles:
            reason = skipped[0].reason if skipped else "no article in it"
            raise _Refused(f"no readable article ({reason})")
        return _link_new_name(tmp, folder, name, data)
    finally:
        tmp.unlink(missing_ok=True)


def _link_new_name(tmp: Path, folder: Path, name: str, data: bytes) -> str:
    """Link `tmp` under `name`, or `stem-2.ext`, `stem-3.ext`... : never over an existing file."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 1000):
        candidate = name if n == 1 else f"{stem}-{n}{suffix}"
        target = folder / candidate
        if target.exists() and target.read_bytes() == data:
            raise _Refused(f"the same file is already in the corpus as {candidate}")
        try:
            os.link(tmp, target)  # fails if the name exists, so nothing is overwritten
        except FileExistsError:
            continue
        return candidate
    raise _Refused(f"too many files named like {name}")


# --- removal -------------------------------------------------------------------------------------


def remove_article(corpus: Path, article: Article) -> str:
    """Remove `article` from the corpus files; what was done, in words.

    An article alone in its file removes the file. In a `.jsonl` file its line is removed, and in
    a `.json` list its item; the other articles of the file stay (those without an explicit id
    are numbered by position, so they may come back under new ids: their vectors are reused).
    """
    if not article.path:
        raise UsageError(f"Article {article.id} has no recorded file: remove it by hand.")
    base = corpus_base(corpus)
    path = (base / article.path).resolve()
    if not path.is_relative_to(base.resolve()) or not path.is_file():
        raise UsageError(f"{article.path} is not a file of the corpus {corpus}.")
    articles, _ = read_file(path, base)
    in_file = _id_in_file(article, articles)
    if in_file is None:
        raise UsageError(f"Article {article.id} is no longer in {article.path}.")
    if [a.id for a in articles].count(in_file) > 1:
        raise UsageError(
            f"{article.path} holds two articles with the id {in_file}: edit it by hand."
        )
    if [a.id for a in articles] == [in_file]:
        path.unlink()
        return f"removed the file {article.path}"
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        _rewrite_jsonl_without(path, base, in_file)
    elif suffix == ".json":
        _rewrite_json_without(path, base, in_file)
    else:  # a text or HTML file holds one article
        raise UsageError(f"{article.path} holds several articles: edit it by hand.")
    return f"removed {article.id} from {article.path}"


def _id_in_file(article: Article, in_file: list[Article]) -> str | None:
    """The id `article` has in its own file: its indexed id, or, for one indexed as `id~2`
    because another file took its id, the id it has there (found by its content)."""
    if article.id in {a.id for a in in_file}:
        return article.id
    was = article.id.rpartition("~")[0]
    for candidate in in_file:
        if candidate.id == was and candidate.content_hash == article.content_hash:
            return candidate.id
    return None


def _rewrite_jsonl_without(path: Path, base: Path, article_id: str) -> None:
    # Lines are numbered as `corpus` numbers them: after normalising newlines, split on "\n".
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
    stem = _stem_id(path, base)
    kept = []
    for number, line in enumerate(text.split("\n"), start=1):
        try:
            record = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            record = None
        if record is None or _record_id(record, f"{stem}:{number}") != article_id:
            kept.append(line)
    _replace(path, "\n".join(kept))


def _rewrite_json_without(path: Path, base: Path, article_id: str) -> None:
    records = json.loads(path.read_text(encoding="utf-8"))
    stem = _stem_id(path, base)
    kept = [
        record
        for number, record in enumerate(records, start=1)
        if _record_id(record, f"{stem}:{number}") != article_id
    ]
    _replace(path, json.dumps(kept, ensure_ascii=False, indent=2) + "\n")


def _record_id(record: object, default: str) -> str:
    """The id `qa.ingest.corpus` gives a JSON record: its `id` or `_id` when set, else `default`."""
    if isinstance(record, dict):
        for name in ("id", "_id"):
            value = record.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                if str(value).strip():
                    return str(value).strip()
    return default


def _stem_id(path: Path, base: Path) -> str:
    """The id prefix `corpus` derives from a relative path: the path without its suffix."""
    return path.relative_to(base).with_suffix("").as_posix()


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
