"""Split articles into sentence-aligned chunks that fit the embedding model's window.

Chunking is pure: it knows no model, only a batched token-counting function, so it can be tested
with a fake counter and reused with any tokenizer. Chunks are runs of whole sentences (cited back
to the reader as excerpts), packed greedily up to a token budget, and consecutive chunks share
their boundary sentence(s) so that a fact split across a boundary is still found whole.

Budgets are checked by summing per-sentence counts, which is exact for tokenizers that split on
whitespace first (BERT WordPiece): sentences are only ever separated by real whitespace, never
cut inside a word, except for a single word longer than the budget, whose pieces each get a
chunk of their own.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import blingfire

from qa.lazy import LazySequence

TokenCounter = Callable[[list[str]], list[int]]
"""Token counts of each string (no special tokens). Called with many strings at once."""

# Lines are split here before blingfire sees them: it joins a line that lacks end punctuation
# (a headline, a list item) to the next one.
_LINE = re.compile(r"[^\n\r\u2028\u2029]+")
# Whitespace that Python and BERT alike treat as a word break: \v, \f, \x1c-\x1f and \x85 are
# whitespace to Python but control characters to BERT, which deletes them and so glues the
# words around them. Sentences and pieces are only ever cut at a separator.
_SEPARATOR = re.compile(r"[^\S\x0b\x0c\x1c-\x1f\x85]")
_WORD = re.compile(r"(?:\S|[\x0b\x0c\x1c-\x1f\x85])+")  # a run of non-separators
# Strings per count_tokens call: large enough to amortise the call, small enough to bound memory.
_COUNT_BATCH = 8192


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article: `article.text[start:end] == text`."""

    article_id: str
    chunk_id: str  # f"{article_id}#{n}", n counting from 0 within the article
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # article-relative (start, end) of each sentence


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, in order, without surrounding whitespace.

    Every line is split on its own; a sentence boundary that blingfire puts where there is no
    whitespace ("ended.Next") is ignored, so that neighbouring sentences never glue into one word.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        offset = line.start()
        for s, e in _split_line(line.group()):
            spans.append((offset + s, offset + e))
    return spans


def _split_line(line: str) -> list[tuple[int, int]]:
    """Sentence spans of one line: blingfire's sentence starts are used only as cut points."""
    if not line.strip():
        return []
    cuts = [0]
    for begin in _sentence_starts(line):
        if cuts[-1] < begin < len(line) and _SEPARATOR.search(line, begin - 1, begin + 1):
            cuts.append(begin)
    cuts.append(len(line))
    spans = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        span = _strip(line, a, b)
        if span is not None:
            spans.append(span)
    return spans


def _sentence_starts(line: str) -> list[int]:
    """Where blingfire starts each sentence of `line` (a line with some non-whitespace).

    `text_to_sentences_and_offsets` maps offsets back with a Python loop over every byte, which
    makes it most of the cost of chunking a corpus; `text_to_sentences` gives the same sentences
    about 3x faster, and they are the line's own characters, so `str.find` locates them. Only when
    one is not found verbatim, right after the previous one, are blingfire's offsets asked for.
    """
    try:
        sentences = blingfire.text_to_sentences(line).split("\n")
    except UnicodeEncodeError:  # lone surrogates: keep the line whole rather than fail the build
        return [0]
    starts: list[int] = []
    pos = 0
    for sentence in sentences:
        found = line.find(sentence, pos) if sentence else -1
        if found < 0 or (found > pos and not line[pos:found].isspace()):
            return [begin for begin, _ in blingfire.text_to_sentences_and_offsets(line)[1]]
        starts.append(found)
        pos = found + len(sentence)
    return starts


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    """`(start, end)` narrowed to exclude whitespace at either side; None when nothing is left."""
    piece = text[start:end]
    stripped = piece.lstrip()
    if not stripped:
        return None
    start += len(piece) - len(stripped)
    end = start + len(stripped.rstrip())
    return start, end


def _count(count_tokens: TokenCounter, texts: Sequence[str]) -> list[int]:
    """Counts of `texts`, in batches, checking the counter answered once per string."""
    counts: list[int] = []
    for i in range(0, len(texts), _COUNT_BATCH):
        batch = list(texts[i : i + _COUNT_BATCH])
        answer = list(count_tokens(batch))
        if len(answer) != len(batch):
            raise ValueError(f"count_tokens returned {len(answer)} counts for {len(batch)} texts")
        counts.extend(answer)
    return counts


def _cut_long(
    text: str, span: tuple[int, int], count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int, int]]:
    """Cut a sentence over budget into pieces (start, end, count) that each fit it.

    Words are packed greedily by their summed counts, then each piece is recounted; a piece still
    over budget (a tokenizer that does not add up, a single huge word) is halved until it fits.
    A piece cut inside a word gets count `max_tokens`, so that packing gives it a chunk alone:
    glued to its neighbour it would tokenize differently.
    """
    start, end = span
    words = []
    for m in _WORD.finditer(text, start, end):
        word = _strip(text, m.start(), m.end())
        if word is not None:
            words.append(word)
    word_counts = _count(count_tokens, [text[a:b] for a, b in words])
    pending: list[tuple[int, int]] = []
    first, total = 0, 0
    for i, c in enumerate(word_counts):
        if i > first and total + c > max_tokens:
            pending.append((words[first][0], words[i - 1][1]))
            first, total = i, 0
        total += c
    pending.append((words[first][0], words[-1][1]))

    done: dict[tuple[int, int], int] = {}
    glued: set[tuple[int, int]] = set()
    while pending:
        counts = _count(count_tokens, [text[a:b] for a, b in pending])
        again: list[tuple[int, int]] = []
        for (a, b), c in zip(pending, counts, strict=True):
            if c <= max_tokens or b - a <= 1:  # one character cannot be cut further
                done[(a, b)] = c
                continue
            halves = _halve(text, a, b)
            if halves is None:  # a single word: cut it in the middle, and mark both pieces
                middle = (a + b) // 2
                cut = [h for h in (_strip(text, a, middle), _strip(text, middle, b)) if h]
                glued.update(cut)
                again.extend(cut)
            else:
                again.extend(halves)
        pending = again
    return [
        (a, b, max(c, max_tokens) if (a, b) in glued else c) for (a, b), c in sorted(done.items())
    ]


def _halve(text: str, start: int, end: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Split at the separator nearest the middle; None when the span is a single word."""
    middle = (start + end) // 2
    best = None
    for m in _SEPARATOR.finditer(text, start, end):
        if best is None or abs(m.start() - middle) < abs(best - middle):
            best = m.start()
    if best is None:
        return None
    left, right = _strip(text, start, best), _strip(text, best + 1, end)
    if left is None or right is None:
        return None
    return left, right


def _pack(counts: Sequence[int], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy runs [first, last) of sentence indexes whose counts sum to <= max_tokens.

    Each run after the first starts with up to `overlap` sentences of the previous one, fewer
    when they would leave no room for a new sentence; every run adds at least one new sentence.
    """
    runs: list[tuple[int, int]] = []
    first = 0
    n = len(counts)
    while first < n:
        last, total = first, 0
        while last < n and (last == first or total + counts[last] <= max_tokens):
            total += counts[last]
            last += 1
        runs.append((first, last))
        if last == n:
            break
        nxt = max(last - overlap, first + 1)
        while nxt < last and sum(counts[nxt:last]) + counts[last] > max_tokens:
            nxt += 1
        first = nxt
    return runs


def chunk_articles(
    articles: Iterable[tuple[str, str]],
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int = 1,
) -> list[Chunk]:
    """Chunk many `(article_id, text)` pairs, counting all their sentences in a few big batches.

    Batching across articles matters: tokenizing is the hot path of index builds, and one call
    per sentence (or even per article) costs more in overhead than the tokenizing itself.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    if overlap < 0:
        raise ValueError(f"overlap must not be negative, not {overlap}")
    items = [(article_id, text, split_sentences(text)) for article_id, text in articles]
    counts = _count(count_tokens, [text[s:e] for _, text, spans in items for s, e in spans])

    chunks: list[Chunk] = []
    position = 0
    for article_id, text, spans in items:
        pieces: list[tuple[int, int, int]] = []
        for (s, e), c in zip(spans, counts[position : position + len(spans)], strict=True):
            if c <= max_tokens:
                pieces.append((s, e, c))
            else:
                pieces.extend(_cut_long(text, (s, e), count_tokens, max_tokens))
        position += len(spans)
        for n, (first, last) in enumerate(_pack([c for _, _, c in pieces], max_tokens, overlap)):
            start, end = pieces[first][0], pieces[last - 1][1]
            chunks.append(
                Chunk(
                    article_id=article_id,
                    chunk_id=f"{article_id}#{n}",
                    start=start,
                    end=end,
                    text=text[start:end],
                    sentences=tuple((s, e) for s, e, _ in pieces[first:last]),
                )
            )
    return chunks


def chunk_article(
    article_id: str,
    text: str,
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int = 1,
) -> list[Chunk]:
    """Chunks of one article: whole sentences packed greedily up to `max_tokens` tokens.

    Each chunk after the first starts with the last `overlap` sentence(s) of the previous one
    when that leaves room for a new sentence. A sentence over budget by itself is cut at
    whitespace into pieces that fit, which then count as sentences. Empty text gives [].
    """
    return chunk_articles([(article_id, text)], count_tokens, max_tokens, overlap)


class PackedChunks(LazySequence[Chunk]):
    """Many articles' chunks kept as numbers, each made into a `Chunk` when asked for.

    A build holds every chunk of the corpus until it writes them; as `Chunk` objects that is
    the chunk's text again and a tuple of tuples of ints per sentence, about 5 KB an article.
    Packed, a chunk is its article, number and bounds (24 bytes) and 16 bytes a sentence;
    its text is cut from its article's own text (held anyway) when it is asked for.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []  # per article
        self._texts: list[str] = []  # per article: the article's text, the same object
        self._article = array("i")  # per chunk, from here on
        self._number = array("i")
        self._start = array("q")
        self._end = array("q")
        self._first = array("q", [0])  # where each chunk's sentences begin in `_spans`
        self._spans = array("q")  # (start, end) of every chunk's sentences, flat

    def add(self, article_id: str, text: str, chunks: Sequence[Chunk]) -> None:
        """Keep `chunks`, all of `article_id`, cut from `text`, numbered as `chunk_articles`
        numbers them."""
        a = len(self._ids)
        self._ids.append(article_id)
        self._texts.append(text)
        for n, chunk in enumerate(chunks):
            if chunk.article_id != article_id or chunk.chunk_id != f"{article_id}#{n}":
                raise ValueError(f"{chunk.chunk_id} is not chunk {n} of {article_id}")
            self._article.append(a)
            self._number.append(n)
            self._start.append(chunk.start)
            self._end.append(chunk.end)
            for s, e in chunk.sentences:
                self._spans.extend((s, e))
            self._first.append(len(self._spans))

    def __len__(self) -> int:
        return len(self._article)

    def _item(self, k: int) -> Chunk:
        a, n = self._article[k], self._number[k]
        start, end = self._start[k], self._end[k]
        flat = self._spans[self._first[k] : self._first[k + 1]]
        return Chunk(
            article_id=self._ids[a],
            chunk_id=f"{self._ids[a]}#{n}",
            start=start,
            end=end,
            text=self._texts[a][start:end],
            sentences=tuple(zip(flat[0::2], flat[1::2], strict=True)),
        )

    def article_id(self, k: int) -> str:
        """The article of chunk `k`, without making the chunk."""
        return self._ids[self._article[k]]

    def sentence_count(self, k: int) -> int:
        return (self._first[k + 1] - self._first[k]) // 2
