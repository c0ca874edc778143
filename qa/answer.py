"""Compose an extractive, cited answer from retrieved chunks, or abstain.

No model writes text here: the answer is made of the articles' own sentences. Each sentence of
the top chunks gets a score from three signals, and the best ones are quoted verbatim with
`[n]` markers. When even the best sentence scores below a calibrated threshold, the answer
says the articles do not tell, and shows the closest passages as related, not as an answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
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
    """How sentence scores are made and used; the weights were set on tests/data questions."""

    abstain_below: float  # from Settings: the best score under which the answer abstains
    max_quotes: int  # from Settings: sentences an answer may quote
    dense: float = 0.55  # cosine of question and sentence (in its chunk's context)
    chunk: float = 0.25  # cosine of question and the whole chunk
    lexical: float = 0.20  # share of the question's content words found in the sentence
    # A question that asks for a number, a date or a name needs a sentence that holds one.
    answer_type_bonus: float = 0.04
    answer_type_penalty: float = 0.10
    margin: float = 0.06  # further quotes must score within this of the best one


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int  # article-relative span of the sentence
    end: int
    score: float


def compose(
    question: str, query: np.ndarray, hits: list[Hit], index: LoadedIndex, scoring: Scoring
) -> Answer:
    """The answer to `question` from `hits`, or an abstention with the hits as related."""
    candidates = score_sentences(question, query, hits, index, scoring)
    if not candidates or candidates[0].score < scoring.abstain_below:
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


def score_sentences(
    question: str, query: np.ndarray, hits: list[Hit], index: LoadedIndex, scoring: Scoring
) -> list[Candidate]:
    """Every distinct sentence of the hits with its score, best first."""
    q_terms = terms(question)
    wanted = answer_type(question)
    q = query.reshape(-1).astype(np.float32)
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        article = index.data.articles[hit.chunk.article_id]
        first = int(index.sentence_offsets[hit.row])
        vecs = index.data.sentence_vectors[first : first + len(hit.chunk.sentences)]
        dense = vecs.astype(np.float32) @ q
        for (s, e), cos in zip(hit.chunk.sentences, dense, strict=True):
            key = (hit.chunk.article_id, s)
            if key in seen:  # chunks overlap by a sentence: score it once, in its best chunk
                continue
            seen.add(key)
            sentence = article.text[s:e]
            lexical = len(q_terms & terms(sentence)) / len(q_terms) if q_terms else 0.0
            score = scoring.dense * float(cos) + scoring.chunk * hit.score
            score += scoring.lexical * lexical
            if wanted is not None:
                held = holds_answer_type(wanted, sentence, question)
                score += scoring.answer_type_bonus if held else -scoring.answer_type_penalty
            out.append(Candidate(hit, s, e, score))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def _choose(candidates: list[Candidate], scoring: Scoring) -> list[list[Candidate]]:
    """The best sentences, grouped by chunk; a group is a run of adjacent sentences."""
    best = candidates[0].score
    groups: list[list[Candidate]] = [[candidates[0]]]
    taken = 1
    for cand in candidates[1:]:
        if taken >= scoring.max_quotes or cand.score < best - scoring.margin:
            break
        same = [g for g in groups if g[0].hit.row == cand.hit.row]
        if same:
            if not _adjacent(same[0], cand):
                continue  # a gap inside one excerpt would not be a verbatim quote
            same[0].append(cand)
            same[0].sort(key=lambda c: c.start)
        else:
            groups.append([cand])
        taken += 1
    return groups


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


def terms(text: str) -> set[str]:
    """Content words, lower-cased and lightly stemmed, for the lexical overlap signal."""
    out = set()
    for word in _WORD.findall(text.lower()):
        word = word.replace(",", "")
        if word in STOPWORDS or len(word) < 2:
            continue
        out.add(_stem(word))
    return out


def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word[0].isdigit():
            return word[: -len(suffix)] + repl
    return word


# Expected answer types, from the question's opening words (checked in this order).
_ASKS = (
    (
        "number",
        re.compile(
            r"\b(how (many|much|old|long|far|big|large)|what (percentage|number|"
            r"share|proportion|age|amount|price|sum))\b",
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
            r"^\s*(who|whom|whose)\b|\b(which|what) (company|firm|country|city|"
            r"team|club|band|film|person|party|minister|player|group)\b",
            re.I,
        ),
    ),
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|dozen|half|double|twice)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|yesterday|"
    r"today|tomorrow|week|month|year|decade|century|ago|since|until)\b",
    re.I,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+")


def answer_type(question: str) -> str | None:
    """ "number", "date" or "name" when the question asks for one, else None."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def holds_answer_type(kind: str, sentence: str, question: str) -> bool:
    """Whether the sentence holds something of that type that the question does not."""
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    asked = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    return any(m.lower() not in asked for m in _CAPITALISED.findall(sentence))
