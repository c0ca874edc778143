"""Keyword retrieval: BM25 (bm25s) over the same chunks as the dense index.

Dense vectors miss exact names, numbers and rare words; BM25 finds them. It indexes
`qa.text.words` for chunks and questions, the words answer scoring counts too.

Each chunk's tokens are kept beside the BM25 matrix (`tokens.npy`, ids into the vocabulary), so
an update tokenizes only the chunks of new and changed articles and re-indexes the rest from
their stored tokens: the tokens are the keyword cache, as the vectors are the embedding cache.
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa import text

# Recorded in the manifest: an index whose keyword part was built otherwise is rebuilt.
# k1 = 2.0 and b = 1.0 (full length normalisation) measured best fused with dense on both dev
# sets (benchmarks/retrieval_variants.py): a long chunk that mentions a word once in passing
# should not outrank a short one about it.
PARAMS = {
    "k1": 2.0,
    "b": 1.0,
    "method": "lucene",
    "stemmer": text.STEMMER,
    "stopwords": "en+qa",
    "numbers": "whole",
}
# A headline is boilerplate when its template (lower case, digit runs as "#") is shared by at
# least this many articles, and this share of them: "CNN news quiz 2025-01-10: answer evidence"
# names no story, and indexing it would only lift the articles whose headlines are real.
BOILERPLATE_MIN = 10
BOILERPLATE_SHARE = 0.005
FOLDER = "bm25"
TOKENS = "tokens.npy"  # flat token ids, chunk after chunk
OFFSETS = "token_offsets.npy"  # chunk i owns tokens[offsets[i]:offsets[i + 1]]
VOCAB = "tokens.vocab.json"


@dataclass(frozen=True)
class KeywordIndex:
    model: Any  # bm25s.BM25 over the chunk rows, row i = chunk i
    vocab: dict[str, int]  # the model's own vocabulary: word -> token id
    tokens: np.ndarray  # int32 token ids of every chunk, flat
    offsets: np.ndarray  # int64, (n_chunks + 1,)

    @property
    def size(self) -> int:
        return len(self.offsets) - 1

    @property
    def words(self) -> list[str]:
        words = [""] * len(self.vocab)
        for word, i in self.vocab.items():
            words[i] = word
        return words

    def doc_freq(self, word: str) -> int:
        """How many chunks hold `word` (a `words` item): its column's length in the BM25
        matrix, so document frequencies are stored with the index, never recounted."""
        i = self.vocab.get(word)
        if i is None:
            return 0
        indptr = self.model.scores["indptr"]
        return int(indptr[i + 1] - indptr[i])


def keyword_text(title: str, chunk_text: str, boilerplate: Collection[str] = ()) -> str:
    """What BM25 indexes for a chunk: the headline gives every passage the story's names,
    unless it is a boilerplate template (see `boilerplate_templates`)."""
    return chunk_text if text.headline_template(title) in boilerplate else f"{title}\n{chunk_text}"


def boilerplate_templates(titles: Sequence[str]) -> set[str]:
    """The headline templates shared by so many articles that they say nothing about any one."""
    counts = Counter(text.headline_template(t) for t in titles)
    least = max(BOILERPLATE_MIN, BOILERPLATE_SHARE * len(titles))
    return {t for t, n in counts.items() if n >= least and t}


def tokenize(texts: Iterable[str], stopwords: Collection[str] | None = None) -> list[list[str]]:
    """`text.words` of each text, as lists: what BM25 indexes (questions and chunks alike).

    Benchmarks pass bm25s's own stopword list for a plain BM25.
    """
    return list(each_tokenized(texts, stopwords))


def each_tokenized(
    texts: Iterable[str], stopwords: Collection[str] | None = None
) -> Iterator[list[str]]:
    """`tokenize`, one text at a time: a build never holds every chunk's words at once."""
    stop = None if stopwords is None else frozenset(stopwords)
    for chunk in texts:
        yield list(text.uncached_words(chunk, stop))


def build(token_lists: Iterable[list[str]], scratch: Path | None = None) -> KeywordIndex:
    """A BM25 index whose row i holds `token_lists[i]`.

    With `scratch` (a build's temporary generation), its token ids and matrix are written
    there as they are made and mapped back, so a build does not hold them (`qa.index.store.save`
    deletes the files once the index is saved).
    """
    vocab: dict[str, int] = {"": 0}  # bm25s keeps an empty token for empty documents
    rows = (array("i", [vocab.setdefault(w, len(vocab)) for w in words]) for words in token_lists)
    flat, lengths = _flatten(rows, scratch, "bm25-tokens.i32")
    return _index(flat, lengths, vocab, scratch)


def rebuild(
    previous: KeywordIndex, rows: Iterable[int | list[str]], scratch: Path | None = None
) -> KeywordIndex:
    """A new index from a mix of `previous` rows (an int) and freshly tokenized chunks.

    Reused rows are copied as token ids, so only new text is tokenized; words no chunk uses
    any more drop out of the vocabulary, which keeps scores equal to a full build's.
    `scratch` as for `build`.
    """
    vocab = dict(previous.vocab)

    def ids(item: int | list[str]) -> array | np.ndarray:
        if isinstance(item, list):
            return array("i", [vocab.setdefault(w, len(vocab)) for w in item])
        return previous.tokens[previous.offsets[item] : previous.offsets[item + 1]]

    flat, lengths = _flatten((ids(item) for item in rows), scratch, "bm25-old-tokens.i32")
    used = np.zeros(len(vocab), dtype=bool)
    used[0] = True  # keep the empty token, as `build` does
    for lo in range(0, len(flat), _BLOCK_TOKENS):
        used[flat[lo : lo + _BLOCK_TOKENS]] = True
    remap = np.cumsum(used, dtype=np.int64).astype(np.int32) - 1
    words = np.array(list(vocab), dtype=object)[used]  # dicts keep insertion order: id order
    renumbered = _empty(scratch, "bm25-tokens.npy", len(flat), np.int32)
    for lo in range(0, len(flat), _BLOCK_TOKENS):
        renumbered[lo : lo + _BLOCK_TOKENS] = remap[flat[lo : lo + _BLOCK_TOKENS]]
    return _index(renumbered, lengths, {w: i for i, w in enumerate(words)}, scratch)


_BLOCK_TOKENS = 1 << 22  # token ids renumbered at a time


def _flatten(
    rows: Iterable[array | np.ndarray], scratch: Path | None, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """The rows' int32 token ids end to end, and each row's length; with `scratch`, written
    to the file `name` there as they come and mapped back."""
    lengths = array("q")
    if scratch is None:
        flat = array("i")
        for row in rows:
            flat.frombytes(np.asarray(row, dtype=np.int32).tobytes())
            lengths.append(len(row))
        return np.frombuffer(flat, np.int32), np.frombuffer(lengths, np.int64)
    with open(scratch / name, "wb") as f:
        for row in rows:
            f.write(np.asarray(row, dtype=np.int32).tobytes())
            lengths.append(len(row))
    total = int(sum(lengths))
    if not total:  # an empty file cannot be mapped
        return np.zeros(0, np.int32), np.frombuffer(lengths, np.int64)
    flat = np.memmap(scratch / name, dtype=np.int32, mode="r", shape=(total,))
    return flat, np.frombuffer(lengths, np.int64)


def _empty(scratch: Path | None, name: str, n: int, dtype: Any) -> np.ndarray:
    """An array of `n` items to fill: in memory, or a file `name` in `scratch` mapped in."""
    if scratch is None:
        return np.empty(n, dtype=dtype)
    return np.lib.format.open_memmap(scratch / name, mode="w+", dtype=dtype, shape=(n,))


def scores(index: KeywordIndex, question: str, allowed: np.ndarray | None = None) -> np.ndarray:
    """The BM25 score of every chunk for the question, float32 (0: no word in common).

    `allowed` (a boolean row mask) zeroes the rows a filter excludes.
    """
    words = [w for w in tokenize([question])[0] if w in index.vocab]
    if not words or index.size == 0:
        return np.zeros(index.size, dtype=np.float32)
    out = np.asarray(index.model.get_scores(words), dtype=np.float32)
    return np.where(allowed, out, 0.0).astype(np.float32) if allowed is not None else out


def save(index: KeywordIndex, folder: Path) -> list[Path]:
    """Write the index into `folder/bm25/`; returns the files written."""
    target = folder / FOLDER
    target.mkdir()
    index.model.save(str(target), show_progress=False)
    np.save(target / TOKENS, index.tokens)
    np.save(target / OFFSETS, index.offsets)
    (target / VOCAB).write_text(json.dumps(index.vocab, ensure_ascii=False), encoding="utf-8")
    return sorted(p for p in target.iterdir() if p.is_file())


def load(folder: Path) -> KeywordIndex:
    """The keyword part of generation `folder`; OSError/ValueError when it is damaged."""
    import bm25s

    source = folder / FOLDER
    vocab = json.loads((source / VOCAB).read_text(encoding="utf-8"))
    # memory-mapped: a question reads the postings of its few words, and the stored tokens
    # are read only by the next update
    model = bm25s.BM25.load(str(source), mmap=True)
    tokens = np.load(source / TOKENS, mmap_mode="r")
    return KeywordIndex(model, vocab, tokens, np.load(source / OFFSETS, mmap_mode="r"))


def _index(
    flat: np.ndarray, lengths: np.ndarray, vocab: dict[str, int], scratch: Path | None
) -> KeywordIndex:
    """BM25 over the rows `flat[offsets[i]:offsets[i + 1]]` (int32 token ids)."""
    import bm25s

    model = bm25s.BM25(k1=PARAMS["k1"], b=PARAMS["b"], method=PARAMS["method"])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    # what `bm25s.BM25.index` leaves, its matrix built by `_matrix`
    model.scores = _matrix(flat, offsets, len(vocab), scratch)
    model.vocab_dict = vocab
    model.unique_token_ids_set = set(vocab.values())
    model.nonoccurrence_array = None  # lucene BM25 has none
    return KeywordIndex(model, vocab, flat, offsets)


def _matrix(
    flat: np.ndarray, offsets: np.ndarray, n_words: int, scratch: Path | None = None
) -> dict[str, Any]:
    """bm25s's score matrix for lucene BM25 (CSC: a column per word, a row index per chunk).

    The same numbers as `bm25s.BM25.index` computes (tested bit for bit), built a block of
    chunks at a time with numpy: bm25s holds some 28 bytes a posting and a Counter per chunk,
    which made BM25 the peak of a build; this holds the matrix (8 bytes a posting) and one
    block. Two passes: the document frequencies, then the scores, each block's postings put
    in place in their word's column, in row order.
    """
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    df = np.zeros(n_words, dtype=np.int64)
    for lo in range(0, n, _BLOCK_ROWS):
        words, _, _ = _postings(flat, offsets, lo, min(n, lo + _BLOCK_ROWS))
        df += np.bincount(words, minlength=n_words)
    idf = np.zeros(n_words, dtype=np.float32)
    for w in np.flatnonzero(df):  # bm25s's `_score_idf_lucene`, in Python floats as there
        idf[w] = math.log(1 + (n - int(df[w]) + 0.5) / (int(df[w]) + 0.5))
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    data = _empty(scratch, "bm25-data.npy", int(indptr[-1]), np.float32)
    indices = _empty(scratch, "bm25-indices.npy", int(indptr[-1]), np.int32)
    heads = indptr[:-1].copy()  # where each column's next posting goes
    k1, b = PARAMS["k1"], PARAMS["b"]
    mean = lengths.mean() if n else 0.0
    for lo in range(0, n, _BLOCK_ROWS):
        words, rows, tf = _postings(flat, offsets, lo, min(n, lo + _BLOCK_ROWS))
        if not len(words):  # a block of chunks without a word
            continue
        # bm25s's `_score_tfc_robertson` with its float64 promotions, then cast to float32
        tfc = tf / (k1 * ((1 - b) + b * lengths[rows] / mean) + tf)
        firsts = np.flatnonzero(np.r_[True, words[1:] != words[:-1]])
        counts = np.diff(np.r_[firsts, len(words)])
        rank = np.arange(len(words)) - np.repeat(firsts, counts)
        at = heads[words] + rank
        data[at] = idf[words].astype(np.float64) * tfc
        indices[at] = rows
        heads[words[firsts]] += counts
    return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n}


_BLOCK_ROWS = 4096  # chunks per block of the BM25 matrix build


def _postings(
    flat: np.ndarray, offsets: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each (word, row) of rows lo..hi once, sorted by word then row, and its count."""
    tokens = flat[offsets[lo] : offsets[hi]].astype(np.int64)
    rows = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(offsets[lo : hi + 1]))
    span = hi - lo
    keys, tf = np.unique(tokens * span + (rows - lo), return_counts=True)
    return keys // span, keys % span + lo, tf.astype(np.float64)
