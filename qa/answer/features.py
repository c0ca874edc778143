"""The signals behind an extractive answer: what a question asks, and how well each sentence of
the retrieved chunks answers it, as numbers a fitted model weighs.

Every signal is built to mean the same on one article and on ten thousand: cosines, shares of
the question's words (weighted by IDF, so a share stays a share whatever the corpus size),
gaps to the best candidate, and yes/no checks of the answer type. Words are `qa.text.words`,
the same stemmed content words BM25 indexes, and document frequencies come from the index's
BM25 matrix, so nothing is recounted when a new generation loads.

`sentence_features` gives one row per sentence (`SENTENCE`), `confidence_features` one row per
question (`CONFIDENCE`); `qa.answer.fitted` turns them into a probability.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import math
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa import text
from qa.index.calibration import TYPICAL

if TYPE_CHECKING:
    from qa.answer.retrieval import Hit
    from qa.index.store import LoadedIndex

# One column each, in this order; `benchmarks/fit_answer.py` fits a weight per column.
SENTENCE = (
    "cos_sentence",  # question–sentence cosine, the sentence in its chunk's context
    "cos_chunk",  # question–chunk cosine
    "cos_gap",  # cos_sentence less the best cos_sentence among the candidates
    "chunk_gap",  # cos_chunk less the best cos_chunk
    "recip_rank",  # 1 / the chunk's rank in retrieval
    "cover",  # IDF share of the question's words in the sentence or its headline
    "cover_sentence",  # ... in the sentence alone
    "cover_prev",  # ... in the sentence before it (the context a "he" or "it" refers to)
    "cover_keys",  # share of the question's names and numbers in sentence or headline
    "cover_focus",  # IDF share of the question's focus (the words of its wh-phrase) in it
    "type_near",  # holds the asked type within a few words of a focus word ("profit of $9m")
    "article_cover",  # the best `cover` among the candidates of the same article
    "withheld",  # says something is not known or not disclosed ("an undisclosed sum")
    "novelty",  # share of the sentence's words the question lacks (0: it only restates it)
    "type_yes",  # the question asks for a number/date/name/reason and the sentence holds one
    "type_no",  # ... and the sentence holds none
    "counts_asked",  # "how many X": a number right before X
    "lead",  # the article's first sentence, which sums the story up
    "log_words",  # log(1 + content words of the sentence)
    "article_rank",  # 1 / the rank of its article among the retrieved ones
)
CONFIDENCE = (
    "best",  # the best sentence's score (logit)
    "gap",  # best less the second-best sentence's score
    "missing_keys",  # IDF share of the question's names/numbers that no retrieved passage has
    "missing_keys_top",  # ... that the best sentence's article (headline and text) lacks
    "missing_top",  # IDF share of all the question's words that article lacks
    "cover_best",  # `cover` of the best sentence
    "cover_focus_best",  # `cover_focus` of the best sentence
    "type_near_best",  # `type_near` of the best sentence
    "type_no_best",  # the best sentence lacks the asked answer type
    "withheld_top",  # one of the three best sentences says something is not known
    "cos_top",  # the best chunk cosine
    "cos_top_z",  # ... as a z-score against the index's off-topic probes
    "asks_type",  # the question asks for a number, date, name or reason
    "keys_quoted",  # share of the question's names and numbers the quotes (and headlines) show
)


@dataclass(frozen=True)
class TermWeights:
    """Document frequencies of `qa.text.words` over an index's chunks (headline included)."""

    n_docs: int
    doc_freq: Callable[[str], int]

    def idf(self, term: str) -> float:
        """BM25's IDF, always positive. A word no chunk holds weighs as much as one that a
        single chunk holds: on a small corpus it is most likely a paraphrase, not a name."""
        df = max(1, self.doc_freq(term))
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    @classmethod
    def of(cls, texts: list[str]) -> TermWeights:
        """Counted over `texts`: for an index written before its keyword part was kept."""
        df: dict[str, int] = {}
        for passage in texts:
            for term in terms(passage):
                df[term] = df.get(term, 0) + 1
        return cls(len(texts), lambda term: df.get(term, 0))


_COUNTED: dict[Path, TermWeights] = {}  # by generation folder, for indexes without BM25


def term_weights(index: LoadedIndex) -> TermWeights:
    """The index's document frequencies: its BM25 matrix's, read as stored."""
    if index.keyword is not None:
        return TermWeights(index.keyword.size, index.keyword.doc_freq)
    if index.folder not in _COUNTED:
        _COUNTED.clear()  # one old index at a time: it is rebuilt by `qa index update`
        texts = [f"{index.data.articles[c.article_id].title}\n{c.text}" for c in index.data.chunks]
        _COUNTED[index.folder] = TermWeights.of(texts)
    return _COUNTED[index.folder]


@dataclass(frozen=True)
class Question:
    """What the scoring needs to know of a question, worked out once."""

    text: str
    weights: dict[str, float]  # its content words and their IDF
    keys: frozenset[str]  # the words of its names and numbers
    asks: str | None  # "number", "date", "name", "reason" or None
    # The words of its wh-phrase, what it asks about as against the story it points to: "how
    # much *profit* did Travelers make in 2004" ("profit"), "which *country's rating* sits...".
    focus: frozenset[str] = frozenset()

    def share(self, found: frozenset[str] | set[str], among: frozenset[str] | None = None) -> float:
        """The IDF-weighted share of the question's words (or of `among`) that `found` holds."""
        chosen = self.weights if among is None else {t: self.weights.get(t, 0.0) for t in among}
        total = sum(chosen.values())
        return sum(w for t, w in chosen.items() if t in found) / total if total else 1.0


def analyse(question: str, weights: TermWeights) -> Question:
    words = {t: weights.idf(t) for t in terms(question)}
    keys = frozenset(key_terms(question) & words.keys())
    focus = frozenset(focus_terms(question) & words.keys())
    return Question(question, words, keys, answer_type(question), focus)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a retrieved chunk: its article-relative span and its signals."""

    hit: Hit
    start: int
    end: int
    position: int  # index of the sentence in its chunk
    holds: bool | None  # holds the asked answer type (None: the question asks none)
    headline: frozenset[str]  # the `terms` of its article's headline

    @property
    def text(self) -> str:
        chunk = self.hit.chunk
        return chunk.text[self.start - chunk.start : self.end - chunk.start]


def sentence_features(
    q: Question, query: np.ndarray, hits: list[Hit], index: LoadedIndex
) -> tuple[list[Sentence], np.ndarray]:
    """Every distinct sentence of the hits, in retrieval order, and its `SENTENCE` row."""
    vec = query.reshape(-1).astype(np.float32)
    seen: set[tuple[str, int]] = set()
    sentences: list[Sentence] = []
    rows: list[list[float]] = []
    for hit in hits:
        article = index.data.articles[hit.chunk.article_id]
        headline = terms(article.title)
        first = int(index.sentence_offsets[hit.row])
        vecs = index.data.sentence_vectors[first : first + len(hit.chunk.sentences)]
        cosines = vecs.astype(np.float32) @ vec
        previous = ""
        for position, ((s, e), cos) in enumerate(zip(hit.chunk.sentences, cosines, strict=True)):
            sentence = article.text[s:e]
            key = (hit.chunk.article_id, s)
            if key in seen:  # chunks overlap by a sentence: score it once, in its best chunk
                previous = sentence
                continue
            seen.add(key)
            own = terms(sentence)
            found = own | headline
            held = None if q.asks is None else holds_answer_type(q.asks, sentence, q.text)
            counted = bool(held) and q.asks == "number" and counts_what_is_asked(sentence, q.text)
            rows.append(
                [
                    float(cos),
                    hit.dense,
                    0.0,  # gaps are filled in below, once every candidate is known
                    0.0,
                    1.0 / hit.rank,
                    q.share(found),
                    q.share(own),
                    q.share(terms(previous)) if previous else 0.0,
                    q.share(found, q.keys) if q.keys else 1.0,
                    q.share(own, q.focus) if q.focus else 0.0,
                    float(near_focus(q, sentence)),
                    0.0,  # filled in below, once every candidate of the article is known
                    float(withheld(sentence)),
                    novelty(sentence, set(q.weights)),
                    float(held is True),
                    float(held is False),
                    float(counted),
                    float(s == 0),
                    math.log1p(len(own)),
                    0.0,  # filled in below, once the article ranking is known
                ]
            )
            sentences.append(Sentence(hit, s, e, position, held, headline))
            previous = sentence
    x = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(SENTENCE))
    if len(x):
        _fill_relative(x, np.array([s.hit.chunk.article_id for s in sentences]))
    return sentences, x


def _fill_relative(x: np.ndarray, articles: np.ndarray) -> None:
    """The columns that compare a sentence with the other candidates: its gaps to the best
    cosines, its article's best cover, and its article's rank among the articles."""
    x[:, 2] = x[:, 0] - x[:, 0].max()
    x[:, 3] = x[:, 1] - x[:, 1].max()
    cover, best = x[:, SENTENCE.index("cover")], x[:, SENTENCE.index("article_cover")]
    for article in set(articles):
        best[articles == article] = cover[articles == article].max()
    ranking = list(dict.fromkeys(articles))
    x[:, SENTENCE.index("article_rank")] = [1.0 / (1 + ranking.index(a)) for a in articles]


def _short(article: object, hit: Hit) -> bool:
    """At most three sentences in the whole article (its chunk is all of it)."""
    chunk = hit.chunk
    return (
        chunk.start == 0 and chunk.end >= len(article.text.rstrip()) and len(chunk.sentences) <= 3
    )


def confidence_features(
    q: Question,
    sentences: list[Sentence],
    x: np.ndarray,
    scores: np.ndarray,
    hits: list[Hit],
    index: LoadedIndex,
    quoted: list[int],
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The `CONFIDENCE` row of a question whose sentences scored `scores` (best first or not)
    and whose answer quotes the sentences `quoted`, and the question's names and numbers that
    no retrieved passage mentions."""
    order = np.argsort(-scores, kind="stable")
    best = order[0]
    top = sentences[best]
    article = index.data.articles[top.hit.chunk.article_id]
    seen: set[str] = set()
    for hit in hits:
        seen |= terms(hit.chunk.text) | terms(index.data.articles[hit.chunk.article_id].title)
    in_article = terms(article.title) | terms(article.text)
    missing = tuple(sorted(t for t in q.keys if t not in seen))
    shown: set[str] = set()
    for i in quoted:
        shown |= terms(sentences[i].text) | sentences[i].headline
    second = scores[order[1]] if len(order) > 1 else scores[best] - 1.0
    row = [
        float(scores[best]),
        float(scores[best] - second),
        1.0 - q.share(seen, q.keys) if q.keys else 0.0,
        1.0 - q.share(in_article, q.keys) if q.keys else 0.0,
        1.0 - q.share(in_article),
        float(x[best, SENTENCE.index("cover")]),
        float(x[best, SENTENCE.index("cover_focus")]),
        float(x[best, SENTENCE.index("type_near")]),
        float(x[best, SENTENCE.index("type_no")]),
        float(x[order[:3], SENTENCE.index("withheld")].max()),
        max(h.dense for h in hits),
        (index.background or TYPICAL).z(max(h.dense for h in hits)),
        float(q.asks is not None),
        q.share(shown, q.keys) if q.keys else 1.0,
    ]
    return np.asarray(row, dtype=np.float32), missing


# ---------------------------------------------------------------- the code's fingerprint


@functools.cache
def code_digest() -> str:
    """A hash of the code that makes the features (this module and `qa.text`), its docstrings,
    comments and blank lines aside: a fitted model records it, and one fitted on features made
    by other code is refused (`qa.answer.fitted`)."""
    digest = hashlib.sha256()
    for module in (Path(__file__), Path(text.__file__)):
        digest.update(_code_lines(module.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]


def _code_lines(source: str) -> str:
    """`source` without docstrings, comments and blank lines: what the digest reads."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    kept = (line.rstrip() for n, line in enumerate(lines, 1) if n not in docstrings)
    return "\n".join(line for line in kept if line)


# ---------------------------------------------------------------- words, names, answer types


@functools.lru_cache(maxsize=1 << 15)
def terms(passage: str) -> frozenset[str]:
    """The set of `qa.text.words` of a passage: what the overlap signals count."""
    return frozenset(text.words(passage))


def key_terms(question: str) -> set[str]:
    """The `terms` of the question's names and numbers ("2010", "fifa", "iphon"), its opening
    word aside (`qa.text.name_spans`)."""
    question = question.strip()
    spans = text.name_spans(question, openings=False) + text.number_spans(question, False)
    out: set[str] = set()
    for start, end in spans:
        out |= terms(question[start:end])
    return out


_WH = re.compile(
    r"\b(how (?:many|much|old|long|far|big|large|tall|high|fast)|what|which|who|whom|whose|"
    r"when|where|why|how)\b(.*)",
    re.I,
)
_AUX = re.compile(
    r"\b(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should|may|might)\b", re.I
)


def focus_terms(question: str) -> frozenset[str]:
    """The `terms` of the question's wh-phrase: up to four words after its question word,
    stopping at the auxiliary verb ("how much *profit* did ...", "who *wrote the tsunami
    single* ..."). Empty for "What did X say?", which names its focus only after the verb."""
    m = _WH.search(question)
    if not m:
        return frozenset()
    rest = m.group(2)
    aux = _AUX.search(rest)
    head = rest[: aux.start()] if aux and aux.start() > 0 else rest
    return terms(" ".join(head.split()[:4]))


_NEAR = 40  # characters between a focus word and the answer-type item


def near_focus(q: Question, sentence: str) -> bool:
    """Whether the sentence holds an item of the asked type (one the question does not hold)
    within `_NEAR` characters of a focus word: "made a *profit* of *$901m*" for "how much
    profit...?"."""
    if not q.focus or q.asks is None:
        return False
    at = [start for start, words in _word_terms(sentence) if words & q.focus]
    items = answer_items(q.asks, sentence, q.text) if at else ()
    return any(s - _NEAR <= a <= e + _NEAR for a in at for s, e in items)


@functools.lru_cache(maxsize=1 << 14)
def _word_terms(sentence: str) -> tuple[tuple[int, frozenset[str]], ...]:
    """Where each word of a sentence starts, and its `terms` (the same sentences come back)."""
    return tuple((a, terms(sentence[a:b])) for a, b in text.token_spans(sentence))


def novelty(sentence: str, asked: set[str]) -> float:
    """The share of the sentence's content words (`terms`) that are not among `asked`, the
    question's: 0 for a sentence that only restates the question, 1 for one all new."""
    own = terms(sentence)
    return len(own - asked) / len(own) if own else 0.0


# Expected answer types, from the question's wording (checked in this order).
_ASKS = (
    (
        "number",
        re.compile(
            r"\b(how (many|much|old|long|far|big|large|tall|high|fast)|what (percentage|number|"
            r"share|proportion|age|amount|price|sum)|(\w+ ){0,3}(price|profit|profits|revenue|"
            r"revenues|sales|cost|fee|salary|score|figure|total|value|loss|losses|fine|rate|"
            r"budget|valuation) (did|was|were|is|are|of|has|had|will)|(rise|rose|fall|fell|drop|"
            r"dropped|climb|climbed|jump|jumped|grow|grew|increase|increased|cut) (to|by))\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(r"\b(when|what (year|day|date|month|time)|which (year|day|month))\b", re.I),
    ),
    (
        "name",
        re.compile(
            r"^\s*(who|whom|whose|where)\b|\b(which|what) (\w+ ){0,2}(company|firm|country|city|"
            r"team|club|band|film|person|party|minister|player|group|agency|body|organisation|"
            r"university|village|town|actor|actress|singer|programme|show|album|song|book|"
            r"brand|product|award|title|name|channel|network|newspaper|court|bank|tycoon|"
            r"chain|airline|studio|label|website|game|service|region|state|nation)\b|\bwhich\b|"
            r"\bwhat (is|was|were|are) (the|its|his|her|their) (name|title|nickname)\b",
            re.I,
        ),
    ),
    (
        "reason",
        re.compile(r"^\s*why\b|\bwhat (reason|event|caused|led|prompted|made)\b", re.I),
    ),
)
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|yesterday|"
    r"today|tomorrow|week|month|year|decade|century|ago|since|until)\b",
    re.I,
)
_QUOTED = re.compile(r"[\"“‘'][^\"”’']{3,60}[\"”’']")
_REASON = re.compile(
    r"\b(because|due to|owing to|after|following|aftermath|over|amid|as a result|caused|led to|"
    r"reason|since|so that|in order to|for (\w+ing|\w+ of)|in protest|blamed)\b",
    re.I,
)


def answer_type(question: str) -> str | None:
    """ "number", "date", "name" or "reason" when the question asks for one, else None."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


_HOW_MANY = re.compile(
    r"\bhow (many|much)\s+((?:[\w’'-]+\s+){0,3}?[\w’'-]+?)\s+(did|do|does|is|are|was|were|"
    r"has|have|had|will|would|could|can|went|live|been)\b",
    re.I,
)


def counts_what_is_asked(sentence: str, question: str) -> bool:
    """For "how many fraud cases ...?": a number in the sentence right before the cases."""
    m = _HOW_MANY.search(question)
    counted = terms(m.group(2)) if m else set()
    return bool(counted) and any(
        counted & terms(sentence[end : end + 40]) for _, end in text.number_spans(sentence, True)
    )


_YEAR_ASKED = re.compile(r"\b(what|which) year\b", re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_DAY_ASKED = re.compile(r"\b(what|which) (day|date)\b", re.I)
_DAY = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow|"
    r"\d{1,2}(st|nd|rd|th)?\s+(january|february|march|april|may|june|july|august|september|"
    r"october|november|december)|(january|february|march|april|may|june|july|august|september|"
    r"october|november|december)\s+\d{1,2})\b",
    re.I,
)


@functools.lru_cache(maxsize=1 << 14)
def answer_items(kind: str, sentence: str, question: str) -> tuple[tuple[int, int], ...]:
    """Character spans of the things of that type in the sentence that the question does not
    hold: numbers, dates (years when it asks "what year", days for "what day"), names (a
    capitalised word past the sentence's first, or a quoted title) or reason words."""
    asked = {text.bare(t) for t in text.tokens(question)}
    if kind == "number":
        found = [
            (a, b)
            for a, b in text.number_spans(sentence, True)
            if text.bare(sentence[a:b]).strip(",") not in asked
        ]
    elif kind == "date":
        pattern = _YEAR if _YEAR_ASKED.search(question) else _DATE
        pattern = _DAY if _DAY_ASKED.search(question) else pattern
        found = [m.span() for m in pattern.finditer(sentence) if m.group().lower() not in asked]
    elif kind == "reason":
        found = [m.span() for m in _REASON.finditer(sentence)]
    else:
        found = [
            (a, b)
            for a, b in text.name_spans(sentence, openings=False)
            if any(text.bare(t) not in asked for t in text.tokens(sentence[a:b]))
        ]
        if not _QUOTED.search(question):
            found += [m.span() for m in _QUOTED.finditer(sentence)]  # a quoted title or nickname
    return tuple(found)


def holds_answer_type(kind: str, sentence: str, question: str) -> bool:
    """Whether the sentence holds something of that type that the question does not."""
    return bool(answer_items(kind, sentence, question))


# A sentence that says the very thing asked is not known: "did not give details of its
# investment", "an undisclosed sum", "is keeping its subject a closely guarded secret".
_WITHHELD = re.compile(
    r"\b((did|does|do|would|will|has|have|had|was|were|is|are)(n['’]t| not) (yet )?(be(en)? )?"
    r"(give|disclos|reveal|say|said|comment|confirm|nam|identif|releas|announc|specif|detail|"
    r"known|clear|decided)\w*|declined to|refused to|undisclosed|unnamed|unidentified|unknown|"
    r"unclear|(no|without) (further )?(details|figures|indication)|not (known|disclosed|"
    r"revealed|been disclosed|been revealed|made public)|(closely guarded|kept) secret)\b",
    re.I,
)


def withheld(sentence: str) -> bool:
    return bool(_WITHHELD.search(sentence))
