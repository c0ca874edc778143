"""Compose an extractive, cited answer from retrieved chunks, or abstain.

No model writes text here: the answer is made of the articles' own sentences. Each sentence of
the top chunks gets a score from three signals, and the best ones are quoted verbatim with
`[n]` markers. When even the best sentence scores below a calibrated threshold, the answer
says the articles do not tell, and shows the closest passages as related, not as an answer.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qa.retrieval import Hit
    from qa.store import LoadedIndex

NOT_FOUND = "I could not find this in the articles."
# The fields of a citation in the `qa ask --json` contract.
CITATION_FIELDS = ("n", "article_id", "title", "published", "chunk_id", "excerpt", "quote", "score")


@dataclass(frozen=True)
class Citation:
    """One numbered source: the chunk text as `excerpt`, the sentence(s) leaned on as `quote`.

    `quote == excerpt[quote_start:quote_end]` so a UI can highlight it without searching.
    """

    n: int
    article_id: str
    title: str
    published: str | None
    chunk_id: str
    excerpt: str
    quote: str
    score: float
    quote_start: int
    quote_end: int
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Answer:
    """The answer text with `[n]` markers; `citations` back every marker.

    When `abstained` is true the text says the articles do not answer, `citations` is empty and
    `related` holds the closest passages ("related, but not an answer").
    """

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    related: tuple[Citation, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The `qa ask --json` contract object."""
        contract = (
            "n",
            "article_id",
            "title",
            "published",
            "chunk_id",
            "excerpt",
            "quote",
            "score",
        )
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [{k: asdict(c)[k] for k in contract} for c in self.citations],
            "related": [{k: asdict(c)[k] for k in contract} for c in self.related],
            "timings_ms": self.timings_ms,
        }


@dataclass(frozen=True)
class Scoring:
    """How sentence scores are made and used; the weights were set on the seed and BBC dev
    question sets (benchmarks/calibrate.py prints the figures)."""

    abstain_below: float  # from Settings: the best score under which the answer abstains
    max_quotes: int  # from Settings: sentences an answer may quote
    dense: float = 0.55  # cosine of question and sentence (in its chunk's context)
    chunk: float = 0.25  # cosine of question and the whole chunk (`Hit.dense`, in every mode)
    # Share of the question's content words found in the sentence or its article's headline,
    # each word weighted by its IDF over the index's articles: rare words (names) count most.
    lexical: float = 0.20
    # A question that asks for a number, a date or a name needs a sentence that holds one.
    answer_type_bonus: float = 0.04
    answer_type_penalty: float = 0.05
    # A sentence made mostly of the question's own words (a lead that restates what is asked)
    # brings no answer: less this times how far its share of new content words is below `novel`.
    restates: float = 0.2
    novel: float = 0.6
    margin: float = 0.10  # further quotes must score within this of the best one
    # Abstention: the confidence is the best sentence score less this times the share of the
    # question's weight held by its names and numbers that no retrieved passage mentions ("Who
    # won the 2010 World Cup?" over passages that never say 2010).
    missing_key_penalty: float = 1.0


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int  # article-relative span of the sentence
    end: int
    score: float
    coverage: float = 0.0  # IDF-weighted share of the question's words in sentence + headline
    holds: bool | None = None  # holds the asked answer type (None: the question asks none)


def compose(
    question: str, query: np.ndarray, hits: list[Hit], index: LoadedIndex, scoring: Scoring
) -> Answer:
    """The answer to `question` from `hits`, or an abstention with the hits as related."""
    candidates = score_sentences(question, query, hits, index, scoring)
    if confidence(question, candidates, hits, index, scoring).value < scoring.abstain_below:
        related = _related(hits, candidates, index)
        return Answer(question, NOT_FOUND, True, (), related)
    chosen = _choose(candidates, scoring)
    citations: list[Citation] = []
    parts: list[str] = []
    for n, group in enumerate(chosen, start=1):
        citation = _citation(n, group, index)
        citations.append(citation)
        parts.append(f"{citation.quote} [{n}]")
    return Answer(question, " ".join(parts), False, tuple(citations))


@dataclass(frozen=True)
class Confidence:
    """Why an answer is given or withheld: `value` is compared with `Scoring.abstain_below`."""

    best: float  # the best sentence score (-1 when no sentence was retrieved)
    missing_keys: tuple[str, ...]  # the question's names and numbers no passage mentions
    missing_share: float  # their share of the question's IDF weight
    value: float  # best - missing_key_penalty * missing_share


def confidence(
    question: str,
    candidates: list[Candidate],
    hits: list[Hit],
    index: LoadedIndex,
    scoring: Scoring,
) -> Confidence:
    """How sure the best sentence answers the question, from two signals: its score, and the
    question's key terms (names, numbers) that the retrieved passages and their headlines never
    mention, each weighted by its IDF. The first catches questions far from every passage, the
    second questions close to a passage on the same topic that lacks the very name or year asked
    about: a story on the 2010 World Cup bid does not say who won it."""
    if not candidates:
        return Confidence(-1.0, (), 0.0, -1.0)
    weights = term_weights(index)
    q_weights = {t: weights.idf(t) for t in terms(question)}
    seen: set[str] = set()
    for hit in hits:
        seen |= terms(hit.chunk.text) | terms(index.data.articles[hit.chunk.article_id].title)
    missing = sorted(t for t in key_terms(question) if t in q_weights and t not in seen)
    total = sum(q_weights.values())
    share = sum(q_weights[t] for t in missing) / total if total else 0.0
    best = candidates[0].score
    value = best - scoring.missing_key_penalty * share
    return Confidence(round(best, 4), tuple(missing), round(share, 4), round(value, 4))


# Names and numbers: a word with a capital letter that does not open a sentence, or digits.
_KEY = re.compile(r"(?<![.!?]\s)(?<!^)\b[a-z]*[A-Z][\w’'-]*|\b\d[\d,.]*\b")


def novelty(sentence: str, asked: set[str]) -> float:
    """The share of the sentence's content words (`terms`) that are not among `asked`, the
    question's: 0 for a sentence that only restates the question, 1 for one all new."""
    own = terms(sentence)
    return len(own - asked) / len(own) if own else 0.0


def key_terms(question: str) -> set[str]:
    """The `terms` of the question's names and numbers ("2010", "fifa", "iphone")."""
    out: set[str] = set()
    for m in _KEY.finditer(question.strip()):
        out |= terms(m.group())
    return out


def score_sentences(
    question: str, query: np.ndarray, hits: list[Hit], index: LoadedIndex, scoring: Scoring
) -> list[Candidate]:
    """Every distinct sentence of the hits with its score, best first."""
    weights = term_weights(index)
    q_weights = {t: weights.idf(t) for t in terms(question)}
    q_total = sum(q_weights.values())
    q_terms = set(q_weights)
    wanted = answer_type(question)
    q = query.reshape(-1).astype(np.float32)
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        article = index.data.articles[hit.chunk.article_id]
        headline = terms(article.title)
        first = int(index.sentence_offsets[hit.row])
        vecs = index.data.sentence_vectors[first : first + len(hit.chunk.sentences)]
        dense = vecs.astype(np.float32) @ q
        for (s, e), cos in zip(hit.chunk.sentences, dense, strict=True):
            key = (hit.chunk.article_id, s)
            if key in seen:  # chunks overlap by a sentence: score it once, in its best chunk
                continue
            seen.add(key)
            sentence = article.text[s:e]
            found = terms(sentence) | headline
            coverage = (
                sum(w for t, w in q_weights.items() if t in found) / q_total if q_total else 0.0
            )
            score = scoring.dense * float(cos) + scoring.chunk * hit.dense
            score += scoring.lexical * coverage
            score -= scoring.restates * max(0.0, scoring.novel - novelty(sentence, q_terms))
            held = None if wanted is None else holds_answer_type(wanted, sentence, question)
            if held is not None:
                score += scoring.answer_type_bonus if held else -scoring.answer_type_penalty
            if held and wanted == "number" and counts_what_is_asked(sentence, question):
                score += scoring.answer_type_bonus
            out.append(Candidate(hit, s, e, score, coverage, held))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


@dataclass(frozen=True)
class TermWeights:
    """Document frequencies of `terms` over an index's articles (headline and text)."""

    n_docs: int
    df: dict[str, int]

    def idf(self, term: str) -> float:
        """BM25's IDF, always positive. A word no article holds weighs as much as one that a
        single article holds: on a small corpus it is most likely a paraphrase, not a name."""
        df = max(1, self.df.get(term, 0))
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    @classmethod
    def of(cls, texts: list[str]) -> TermWeights:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(terms(text))
        return cls(len(texts), dict(df))


_WEIGHTS: dict[Path, TermWeights] = {}  # by generation folder: an index is never changed in place


def term_weights(index: LoadedIndex) -> TermWeights:
    """The index's term weights, counted on first use (about a second for 2,000 articles)."""
    weights = _WEIGHTS.get(index.folder)
    if weights is None:
        texts = [f"{a.title}\n{a.text}" for a in index.data.articles.values()]
        weights = TermWeights.of(texts)
        if len(_WEIGHTS) >= 4:  # a long-running chat swaps generations: keep the newest few
            _WEIGHTS.pop(next(iter(_WEIGHTS)))
        _WEIGHTS[index.folder] = weights
    return weights


def _choose(candidates: list[Candidate], scoring: Scoring) -> list[list[Candidate]]:
    """The best sentences, grouped by chunk; a group is a run of adjacent sentences."""
    best = candidates[0].score
    groups: list[list[Candidate]] = [[candidates[0]]]
    quoted = {_text(candidates[0])}
    for cand in candidates[1:]:
        if len(quoted) >= scoring.max_quotes or cand.score < best - scoring.margin:
            break
        if _text(cand) in quoted:
            continue  # the same sentence in another copy of the story adds nothing
        # A run of adjacent sentences is one quote; a sentence apart from it in the same
        # excerpt is a quote of its own (one quote with a gap would not be verbatim).
        same = [g for g in groups if g[0].hit.row == cand.hit.row and _adjacent(g, cand)]
        if same:
            same[0].append(cand)
            same[0].sort(key=lambda c: c.start)
        else:
            groups.append([cand])
        quoted.add(_text(cand))
    for group in groups:
        _complete(group, candidates)
    return groups


def _text(cand: Candidate) -> str:
    chunk = cand.hit.chunk
    return chunk.text[cand.start - chunk.start : cand.end - chunk.start]


def _complete(group: list[Candidate], candidates: list[Candidate]) -> None:
    """Quote the next sentence too when a lone quote is its article's opening sentence.

    A news story's first sentence sums the story up and the next ones hold its particulars
    (the name, the figure), so a question that matches the summary best is often answered by
    the sentence after it: "One of Japan's best-known businessmen was arrested on Thursday..."
    + "Yoshiaki Tsutsumi was once ranked as the world's richest man...". The next sentence is
    added when it holds the answer type the question asks for (or the question asks none).
    """
    if len(group) > 1 or group[0].start != 0:
        return
    chunk = group[0].hit.chunk
    if len(chunk.sentences) < 2:
        return
    start = chunk.sentences[1][0]
    for cand in candidates:
        if cand.hit.chunk.article_id == chunk.article_id and cand.start == start:
            if cand.holds is not False:
                group.append(replace(cand, hit=group[0].hit))
            return


def _adjacent(group: list[Candidate], cand: Candidate) -> bool:
    spans = list(group[0].hit.chunk.sentences)
    positions = {spans.index((c.start, c.end)) for c in group}
    here = spans.index((cand.start, cand.end))
    return here - 1 in positions or here + 1 in positions


def _citation(n: int, group: list[Candidate], index: LoadedIndex) -> Citation:
    chunk = group[0].hit.chunk
    article = index.data.articles[chunk.article_id]
    start, end = min(c.start for c in group), max(c.end for c in group)
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        published=article.published,
        chunk_id=chunk.chunk_id,
        excerpt=chunk.text,
        quote=article.text[start:end],
        score=round(max(c.score for c in group), 4),
        quote_start=start - chunk.start,
        quote_end=end - chunk.start,
        source=article.source,
        url=article.url,
    )


def _related(hits: list[Hit], candidates: list[Candidate], index: LoadedIndex) -> tuple:
    """The top passages, each with its best sentence marked, shown when abstaining."""
    best_in: dict[int, Candidate] = {}
    for cand in candidates:
        best_in.setdefault(cand.hit.row, cand)
    rows = [h.row for h in hits if h.row in best_in][:3]
    return tuple(_citation(i, [best_in[r]], index) for i, r in enumerate(rows, start=1))


_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours said says say according many much tell
    told""".split()
)


@functools.lru_cache(maxsize=1 << 14)
def terms(text: str) -> frozenset[str]:
    """Content words, lower-cased and lightly stemmed, for the lexical overlap signal.

    Cached: the same sentences and headlines come back question after question, and this was
    most of the time spent composing an answer.
    """
    out = set()
    for word in _WORD.findall(text.lower()):
        word = word.replace(",", "")
        if word in STOPWORDS or len(word) < 2:
            continue
        out.add(_stem(word))
    return frozenset(out)


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word[0].isdigit():
            return word[: -len(suffix)] + repl
    return word


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
_NUMBER = re.compile(
    r"\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|half|double|twice|quarter)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|yesterday|"
    r"today|tomorrow|week|month|year|decade|century|ago|since|until)\b",
    re.I,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+")
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
        counted & terms(sentence[n.end() : n.end() + 40]) for n in _NUMBER.finditer(sentence)
    )


def holds_answer_type(kind: str, sentence: str, question: str) -> bool:
    """Whether the sentence holds something of that type that the question does not."""
    asked = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    if kind == "number":
        return any(m.group().lower().strip(",.") not in asked for m in _NUMBER.finditer(sentence))
    if kind == "date":
        return any(m.group().lower() not in asked for m in _DATE.finditer(sentence))
    if kind == "reason":
        return bool(_REASON.search(sentence))
    if _QUOTED.search(sentence) and not _QUOTED.search(question):
        return True  # a quoted title or nickname
    return any(m.lower() not in asked for m in _CAPITALISED.findall(sentence))
