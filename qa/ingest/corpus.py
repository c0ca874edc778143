"""Read a folder of articles and clean them into `Article`s.

`read_corpus` walks a folder (or reads one file) of .txt, .md, .html/.htm, .json and .jsonl
articles in a fixed order. A file or JSONL line that cannot be read never stops the others: it
comes back as a `Skipped` with the reason, and the caller decides how to report it.
`clean_text` is the one cleaning every body goes through, so the index, the citations and the
excerpts all see the same text.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bs4 import BeautifulSoup, NavigableString, Tag

from qa.errors import UsageError


@dataclass(frozen=True)
class Article:
    """One cleaned article. Chunk offsets index into `text` (the body, without the title)."""

    id: str
    title: str
    text: str
    published: str | None = None  # ISO date, YYYY-MM-DD (or a longer ISO timestamp) when known
    source: str | None = None
    url: str | None = None
    category: str | None = None
    path: str | None = None  # the file it came from, relative to the corpus folder

    @property
    def content_hash(self) -> str:
        """A hash of everything that ends up in the index, to detect changed articles."""
        payload = json.dumps(
            [self.title, self.text, self.published, self.source, self.url, self.category],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A file (or a line of a file) that was not read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Renamed:
    """An article whose id was taken by an earlier one, indexed under a new id rather than lost."""

    path: str
    was: str  # the id it had
    id: str  # the id it is indexed under
    first: str  # the path of the article that kept the id

    @property
    def reason(self) -> str:
        return f"id {self.was} is taken by {self.first}: indexed as {self.id}"


@dataclass(frozen=True)
class CorpusRead:
    articles: list[Article]
    skipped: list[Skipped]
    renamed: list[Renamed] = field(default_factory=list)


# --- cleaning ------------------------------------------------------------------------------------

# Web boilerplate, one rule per kind of line. Each pattern must match a WHOLE line (fullmatch,
# case-insensitive) and only lines up to BOILERPLATE_MAX_CHARS long, so a story sentence that
# merely mentions these words is never removed. The title repeated as the first body line is
# handled by `_drop_repeated_title`, since it depends on the article's title.
BOILERPLATE_MAX_CHARS = 200
_END = r"[\s.!:*]*"  # trailing punctuation and the "*" of required-field markers
BOILERPLATE: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(rf"leave a (?:reply|comment)(?: cancel reply)?{_END}", re.I),
        "the heading of a blog comment form (WordPress: 'Leave a Reply', 'Leave a Comment')",
    ),
    (
        re.compile(
            r"(?:your )?e-?mail(?: address)? (?:will not|won't|is not|isn't) (?:be )?published"
            rf"{_END}(?:required fields are marked{_END})?",
            re.I,
        ),
        "the comment form's privacy notice, alone or followed by 'Required fields are marked *'",
    ),
    (
        re.compile(rf"required fields are marked{_END}", re.I),
        "the comment form's required-field legend on its own line",
    ),
    (
        re.compile(
            rf"this site uses akismet to reduce spam{_END}"
            rf"(?:learn how your comment data is processed{_END})?",
            re.I,
        ),
        "the Akismet spam-filter notice under comment forms",
    ),
    (
        re.compile(rf"learn how your comment data is processed{_END}", re.I),
        "the second half of the Akismet notice on its own line",
    ),
    (
        re.compile(
            r"(?:.{1,160}?[.!?’”\")\]]\s+)?(?:picture|photo|image) credits?:\s*[^!?]{1,60}"
            r"|.{1,160}?[.!?’”\")\]]\s+image:\s*[^!?]{1,60}"
            r"|(?:.{1,160}?\s)?\((?:picture|photo|image)(?: credits?)?:[^()]{1,80}\)",
            re.I,
        ),
        "a picture caption that ends in its credit ('... Picture credit: YouTube', '... Image: AP',"
        " '... (Image credit: Getty Images)')",
    ),
    (
        re.compile(r"(?:photo|picture|image|photograph)s?(?: credits?)?:\s*\S.{0,150}", re.I),
        "a line that is only a picture credit or caption ('Photo: Reuters', 'Picture: ...')",
    ),
    (
        re.compile(rf"share (?:this|the) (?:article|story|post|page){_END}", re.I),
        "a share-button label ('Share this article')",
    ),
    (
        re.compile(
            r"share (?:it )?(?:on|via|to) (?:facebook|twitter|x|linkedin|whatsapp|reddit|"
            rf"pinterest|telegram|e-?mail){_END}",
            re.I,
        ),
        "a share-button label for one network ('Share on Facebook')",
    ),
    (
        re.compile(
            rf"(?:click here to )?subscribe(?: now)? to (?:our|the) (?:\w+ )?newsletters?{_END}"
            rf"|click here to subscribe{_END}",
            re.I,
        ),
        "a newsletter prompt ('Subscribe to our newsletter', 'Click here to subscribe')",
    ),
    (
        re.compile(
            r"follow us on (?:facebook|twitter|x|instagram|linkedin|youtube|tiktok|threads|"
            r"telegram|bluesky|mastodon)(?:(?:,| and| &| or) (?:facebook|twitter|x|instagram|"
            rf"linkedin|youtube|tiktok|threads|telegram|bluesky|mastodon))*{_END}",
            re.I,
        ),
        "a social-media prompt ('Follow us on Twitter', '... on Twitter and Facebook')",
    ),
]

_INLINE_SPACE = re.compile(r"[ \t]+")
_ANY_SPACE = re.compile(r"\s+")


def clean_text(title: str, body: str) -> str:
    """The body as it is indexed and quoted: tidy whitespace, no repeated title, no boilerplate.

    Paragraphs come out separated by exactly one blank line; lines inside a paragraph are kept.
    Characters are never rewritten (curly quotes stay curly), so excerpts match the source.
    """
    lines = [_INLINE_SPACE.sub(" ", line).strip() for line in _normalise_newlines(body).split("\n")]
    lines = _drop_repeated_title(title, lines)
    lines = [line for line in lines if not is_boilerplate(line)]
    return _join_paragraphs(lines)


def is_boilerplate(line: str) -> bool:
    """Whether a stripped line is a whole line of web boilerplate (see `BOILERPLATE`)."""
    if not line or len(line) > BOILERPLATE_MAX_CHARS:
        return False
    return any(pattern.fullmatch(line) for pattern, _ in BOILERPLATE)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fold(text: str) -> str:
    """Case- and whitespace-insensitive form, to recognise the title when a page repeats it."""
    return _ANY_SPACE.sub(" ", text).strip().casefold()


def _drop_repeated_title(title: str, lines: list[str]) -> list[str]:
    """Remove the title (and blank lines) from the top of the body: pages often repeat it there."""
    folded = _fold(title)
    if not folded:
        return lines
    start = 0
    while start < len(lines) and (not lines[start] or _fold(lines[start]) == folded):
        start += 1
    return lines[start:]


def _join_paragraphs(lines: list[str]) -> str:
    """Join lines, with runs of blank lines collapsed to one and none at either end."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join("\n".join(p) for p in paragraphs if p)


def _clean_title(title: str) -> str:
    """A title on one line: newlines and runs of spaces become one space."""
    return _INLINE_SPACE.sub(" ", _normalise_newlines(title).replace("\n", " ")).strip()


# --- reading -------------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A file or record that cannot become an article; the message is the `Skipped` reason."""


def read_corpus(root: Path) -> CorpusRead:
    """Read every article file under `root` (or the one file `root`), in sorted path order.

    Hidden files and folders and unknown extensions are ignored. Unreadable files, bad records
    and repeated ids are returned in `skipped` rather than raised, so one bad file never stops
    a build; nothing is printed.
    """
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() not in _READERS:
            raise UsageError(
                f"{root} is not an article file (expected {', '.join(_READERS)}): "
                "pass --corpus DIR with a folder of articles, or one such file."
            )
        articles, skipped = read_file(root, root.parent)
    elif root.is_dir():
        articles, skipped = [], []
        for path in _article_files(root, skipped):
            found, bad = read_file(path, root)
            articles.extend(found)
            skipped.extend(bad)
    else:
        raise UsageError(
            f"Corpus folder {root} does not exist: pass --corpus DIR or set QA_CORPUS "
            "to a folder of articles."
        )
    unique, duplicates, renamed = _distinct_ids(articles)
    return CorpusRead(articles=unique, skipped=skipped + duplicates, renamed=renamed)


def _article_files(root: Path, skipped: list[Skipped]) -> list[Path]:
    """Files with a known extension under `root`, hidden ones pruned, sorted by relative path.

    Links are followed only where they stay inside the corpus folder: a linked file elsewhere
    and a linked folder (which could loop) are skipped with the reason, so what is indexed, and
    served in excerpts, is what the folder holds. A name that is not UTF-8 is skipped too: it
    could not be written into the index's manifest.
    """

    def unreadable_folder(error: OSError) -> None:
        where = Path(error.filename).relative_to(root).as_posix() if error.filename else "."
        skipped.append(Skipped(_printable(where), f"cannot read folder ({error.strerror})"))

    inside = root.resolve()
    found = []
    for folder, dirnames, filenames in os.walk(root, onerror=unreadable_folder):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in dirnames:
            if Path(folder, name).is_symlink():
                rel = Path(folder, name).relative_to(root).as_posix()
                skipped.append(Skipped(_printable(rel), "a linked folder, not followed"))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in _READERS:
                continue
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if not _is_utf8(rel):
                skipped.append(Skipped(_printable(rel), "the name is not valid UTF-8: rename it"))
            elif path.is_symlink() and (problem := _link_problem(path, inside)):
                skipped.append(Skipped(_printable(rel), problem))
            else:
                found.append(path)
    return sorted(found, key=lambda path: path.relative_to(root).parts)


def _link_problem(path: Path, inside: Path) -> str | None:
    """Why a linked file is not read, or None when it leads to a file in the corpus folder."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        return "a link to a file that does not exist"
    except RuntimeError:  # Python 3.11 and 3.12 report a loop so
        return "a link that loops"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a link that loops"
        return f"a link that cannot be followed ({error.strerror})"
    if not target.is_relative_to(inside):
        return "a link to a file outside the corpus folder (links are followed within it)"
    return None


def _is_utf8(name: str) -> bool:
    """False for a name the file system gave as bytes that are not UTF-8 (surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(name: str) -> str:
    """A name that can be printed and stored: undecodable bytes shown as `\\xNN`."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _distinct_ids(
    articles: list[Article],
) -> tuple[list[Article], list[Skipped], list[Renamed]]:
    """One article per id, since ids key the index. Of two with the same id, a copy of the
    first (same title and text) is skipped; a different article (`a.txt` beside `a.md`, two
    feeds both numbering from 1) is kept as `id~2`, `id~3`... in reading order, and reported."""
    by_id: dict[str, Article] = {}
    skipped: list[Skipped] = []
    renamed: list[Renamed] = []
    for article in articles:
        first = by_id.get(article.id)
        if first is not None and (first.title, first.text) == (article.title, article.text):
            reason = f"the same article as {first.path} (id {first.id})"
            skipped.append(Skipped(article.path or "", reason))
            continue
        if first is not None:
            n = 2
            while f"{article.id}~{n}" in by_id:
                n += 1
            new_id = f"{article.id}~{n}"
            renamed.append(Renamed(article.path or "", article.id, new_id, first.path or ""))
            article = dataclasses.replace(article, id=new_id)
        by_id[article.id] = article
    return list(by_id.values()), skipped, renamed


def read_file(path: Path, root: Path) -> tuple[list[Article], list[Skipped]]:
    """The articles of one file, and what in it was skipped; `root` makes paths and ids relative."""
    rel = path.relative_to(root).as_posix()
    try:
        content = _read_utf8(path)
        articles, skipped = _READERS[path.suffix.lower()](content, rel)
    except _Unreadable as error:
        return [], [Skipped(rel, str(error))]
    if not articles and not skipped:
        skipped = [Skipped(rel, "no articles in the file")]
    return articles, skipped


def _read_utf8(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _Unreadable(f"cannot read file ({error.strerror})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows "Unicode" text
        with contextlib.suppress(UnicodeDecodeError):  # else: say what is wrong for UTF-8
            return data.decode("utf-16")
    if b"\x00" in data:
        raise _Unreadable("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _Unreadable(
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}): "
            "save it as UTF-8"
        ) from None


def _stem_id(rel: str) -> str:
    """The id of a one-article file: its relative path without the extension."""
    return PurePosixPath(rel).with_suffix("").as_posix()


# One article's cleaned text at most (about 170,000 words, a thousand chunks): a 20 MB "article"
# is a dump, and would take minutes to embed and 1.5 GB of memory.
MAX_ARTICLE_CHARS = 1_000_000


def _checked(article: Article) -> Article:
    if not article.text:
        raise _Unreadable("empty after cleaning")
    if len(article.text) > MAX_ARTICLE_CHARS:
        raise _Unreadable(
            f"{len(article.text):,} characters is over the limit of {MAX_ARTICLE_CHARS:,} "
            "for one article: split it into articles"
        )
    return article


def _read_plain(content: str, rel: str) -> tuple[list[Article], list[Skipped]]:
    """A .txt or .md file: the first non-empty line is the title, the rest is the body."""
    lines = _normalise_newlines(content).split("\n")
    start = next((n for n, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise _Unreadable("empty file")
    title = _clean_title(lines[start].strip().lstrip("#"))
    body = "\n".join(lines[start + 1 :])
    text = clean_text(title, body)
    if not body.strip():  # one line and nothing else: that line is the article, named by its file
        title, text = PurePosixPath(rel).stem, clean_text("", lines[start])
    return [_checked(Article(id=_stem_id(rel), title=title, text=text, path=rel))], []


# Dropped before extracting text: page furniture, not the story.
_HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe")
_HTML_DROP += ("svg", "template")
# Elements that start a new paragraph, so their text is not run together with the next one.
_HTML_BLOCKS = frozenset(
    "address article blockquote dd div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li main "
    "ol p pre section table td th tr ul".split()
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace; &nbsp; is not collapsed by browsers


def _read_html(content: str, rel: str) -> tuple[list[Article], list[Skipped]]:
    """An HTML page: title from <title> or <h1>, body from <article> (else <body>)."""
    soup = BeautifulSoup(content, "html.parser")
    title = _html_title(soup)
    published = _html_published(soup)
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    container = soup.find("article") or soup.find("body") or soup
    parts: list[str] = []
    _html_text(container, parts)
    text = clean_text(title, "".join(parts))
    article = Article(id=_stem_id(rel), title=title, text=text, published=published, path=rel)
    return [_checked(article)], []


def _html_title(soup: BeautifulSoup) -> str:
    for name in ("title", "h1"):
        tag = soup.find(name)
        if tag and (title := _clean_title(_HTML_SPACE.sub(" ", tag.get_text()))):
            return title
    return ""


def _html_published(soup: BeautifulSoup) -> str | None:
    meta = soup.find("meta", attrs={"property": "article:published_time"})
    if isinstance(meta, Tag) and meta.get("content"):
        return _iso_date(str(meta["content"]))
    time = soup.find("time", attrs={"datetime": True})
    if isinstance(time, Tag):
        return _iso_date(str(time["datetime"]))
    return None


def _html_text(node: Tag, parts: list[str]) -> None:
    """Append the text under `node`, with a blank line around each block element."""
    for child in node.children:
        if isinstance(child, Tag):
            if child.name == "br":
                parts.append("\n")
                continue
            block = child.name in _HTML_BLOCKS
            if block:
                parts.append("\n\n")
            _html_text(child, parts)
            if block:
                parts.append("\n\n")
        elif type(child) is NavigableString:  # not comments, doctypes or CDATA
            parts.append(_HTML_SPACE.sub(" ", child))


_TOO_DEEP = "JSON nested too deeply to be an article (arrays or objects ~1,000 levels deep)"


def _read_json(content: str, rel: str) -> tuple[list[Article], list[Skipped]]:
    """A .json file: one article object, or a list of them (ids default to `path:item`)."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as error:
        raise _Unreadable(
            f"invalid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise _Unreadable(_TOO_DEEP) from None
    if isinstance(data, dict):
        return [_article_from_record(data, _stem_id(rel), rel)], []
    if not isinstance(data, list):
        raise _Unreadable(f"expected an article object or a list of them, got {_kind(data)}")
    articles, skipped = [], []
    for number, record in enumerate(data, start=1):
        try:
            articles.append(_article_from_record(record, f"{_stem_id(rel)}:{number}", rel))
        except _Unreadable as error:
            skipped.append(Skipped(rel, f"item {number}: {error}"))
    return articles, skipped


def _read_jsonl(content: str, rel: str) -> tuple[list[Article], list[Skipped]]:
    """A .jsonl file: one article object per line; blank lines are allowed."""
    articles, skipped = [], []
    for number, line in enumerate(_lines(_normalise_newlines(content)), start=1):
        if not line.strip():
            continue
        try:
            articles.append(_article_from_line(line, f"{_stem_id(rel)}:{number}", rel))
        except _Unreadable as error:
            skipped.append(Skipped(rel, f"line {number}: {error}"))
    return articles, skipped


def _lines(text: str) -> Iterator[str]:
    """`text.split("\n")`, a line at a time: a large .jsonl file is not held twice."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end]
        start = end + 1


def _article_from_line(line: str, default_id: str, rel: str) -> Article:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise _Unreadable(f"invalid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise _Unreadable(_TOO_DEEP) from None
    return _article_from_record(record, default_id, rel)


def _article_from_record(record: object, default_id: str, rel: str) -> Article:
    """An article from a JSON object: `id`/`_id`, `title`, `text`/`body` and metadata fields."""
    if not isinstance(record, dict):
        raise _Unreadable(f"expected an article object, got {_kind(record)}")
    body = _first_field(record, "text", "body")
    if body is None:
        raise _Unreadable("no text field (expected 'text' or 'body')")
    title = _clean_title(_field(record, "title") or "")
    article = Article(
        id=_first_field(record, "id", "_id") or default_id,
        title=title,
        text=clean_text(title, body),
        published=_iso_date(_first_field(record, "published", "published_at")),
        source=_field(record, "source"),
        url=_field(record, "url"),
        category=_field(record, "category"),
        path=rel,
    )
    return _checked(article)


def _first_field(record: dict[str, object], *names: str) -> str | None:
    """The first of `names` that holds a value (BEIR files say `_id`, others `id`)."""
    for name in names:
        if (value := _field(record, name)) is not None:
            return value
    return None


def _field(record: dict[str, object], name: str) -> str | None:
    """A field as a stripped string; None when absent, null or empty. Numbers become strings.

    A lone surrogate escape (`"\\ud800"`) is valid JSON but no text: it becomes U+FFFD, as
    any other byte that is not a character would, so the article can be written back as UTF-8.
    """
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Unreadable(f"field {name!r} should be a string, got {_kind(value)}")
    return _SURROGATE.sub("\ufffd", str(value)).strip() or None


_SURROGATE = re.compile("[\ud800-\udfff]")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[T ])")


def _iso_date(value: str | None) -> str | None:
    """The date as given when it is ISO (2022-01-08, 2022-01-08T10:00:00Z); otherwise None,
    since dates are compared as strings downstream and another format would sort wrongly."""
    if value is None:
        return None
    value = value.strip()
    return value if _ISO_DATE.match(value) else None


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


_READERS = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}
