"""Compose an extractive, cited answer from retrieved chunks: one of three outcomes.

No model writes text here: the answer is made of the articles' own sentences. Every sentence of
the top chunks gets a score from its signals (`qa.answer.features`) weighed by a fitted logistic
regression (`fitted`); the best ones are quoted verbatim with `[n]` markers. A second fitted
model turns the best sentence's score and what the question names that the passages lack into a
*confidence*, the probability that the answer is right. The outcome:

- "answer": the confidence is at least the threshold; the quotes are the answer.
- "closest": under it, but a passage is on the question's topic (`on_topic`): the same quotes
  are given, said to be the closest the articles come, so a right answer is never hidden.
- "none": no passage is on the topic; the answer says the articles do not tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from qa.answer import fitted
from qa.answer.features import (
    Question,
    Sentence,
    analyse,
    confidence_features,
    sentence_features,
    term_weights,
    terms,
)
from qa.index.calibration import TYPICAL
from qa.ingest.chunking import split_sentences

if TYPE_CHECKING:
    from qa.answer.parts import Part
    from qa.answer.retrieval import Hit
    from qa.index.store import LoadedIndex
    from qa.ingest.chunking import Chunk
    from qa.ingest.corpus import Article

NOT_FOUND = "I could not find this in the articles."
CLOSEST = "The articles may not answer this; the closest they come:"
Outcome = Literal["answer", "closest", "none"]
# A passage is on a question's topic when its cosine stands this many spreads above the best
# cosines of off-topic questions on the same index (`qa.index.calibration`): one setting that means
# the same on one article and on thousands (`benchmarks/topic_threshold.py`, tune sets: no
# off-topic question above it on BBC, 2 of 16 on the seed article; 9 % of the right answers on
# the seed among BBC stories below it, none on the others once named questions count too).
TOPIC_Z = 0.5
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
class Confidence:
    """How sure the answer is: `value` is the fitted probability that it is right, compared
    with `threshold`; `missing_keys` are the question's names and numbers no passage mentions."""

    value: float
    threshold: float
    missing_keys: tuple[str, ...] = ()

    @property
    def answers(self) -> bool:
        return self.value >= self.threshold


@dataclass(frozen=True)
class Answer:
    """The answer text with `[n]` markers; `citations` back every marker. `outcome` says what
    the quotes are: the answer, the closest the articles come, or nothing (no citations)."""

    question: str
    text: str
    outcome: Outcome
    citations: tuple[Citation, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    confidence: Confidence | None = None
    query: str | None = None  # what was retrieved for: the question, or a follow-up rewritten
    trace: dict | None = field(default=None, compare=False)  # why: `explain`, for --trace
    mode: str = "extractive"  # "llm": written by a language model, every sentence checked
    notes: tuple[str, ...] = ()  # what the reader should know (a fallback, sentences left out)

    @property
    def abstained(self) -> bool:
        """Not a confident answer: the closest sentences, or nothing."""
        return self.outcome != "answer"

    def to_json(self) -> dict:
        """The `qa ask --json` contract object (`related` stays, empty, for clients that read
        it: what it held is now quoted in the answer, outcome "closest")."""
        conf = self.confidence
        return {
            "question": self.question,
            "query": self.query or self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "outcome": self.outcome,
            "confidence": None
            if conf is None
            else {"value": conf.value, "threshold": conf.threshold},
            "citations": [{k: asdict(c)[k] for k in CITATION_FIELDS} for c in self.citations],
            "related": [],
            "timings_ms": self.timings_ms,
            "mode": self.mode,
            "notes": list(self.notes),
        }

    def to_json_traced(self) -> dict:
        """The contract object with `"trace"`: the retrieval and sentence scores behind it."""
        return {**self.to_json(), "trace": self.trace}


@dataclass(frozen=True)
class Policy:
    """How the scores are used: the settings' thresholds, else the fitted model's."""

    max_quotes: int = 3
    threshold: float | None = None  # QA_ABSTAIN_BELOW; None: the model's own
    margin: float | None = None  # None: the model's own (see `qa.answer.fitted`)
    part_margin: float | None = None
    # Score the best sentences with the reader (`qa.answer.reader`, QA_READER): its probability is
    # then the confidence, held against `threshold`.
    reader: bool = False


@dataclass(frozen=True)
class Scored:
    """Every candidate sentence of a question with its score (a logit), best first."""

    question: Question
    sentences: list[Sentence]
    features: np.ndarray  # (n, len(features.SENTENCE)), in the order of `sentences`
    scores: np.ndarray  # (n,) logits, in the order of `sentences`
    order: np.ndarray  # indices of `sentences`, best first
    read: bool = False  # the scores of the best `READ_TOP` are the reader's logits
    # For a question of parts (`qa.answer.parts`): each part's best sentence, to be quoted, and
    # the other sentences each part read as (how far below that part's best, index), nearest first.
    picked: tuple[int, ...] = ()
    runners_up: tuple[tuple[float, int, int], ...] = ()  # (gap, sentence, its part)


# Sentences the reader reads for a question: the best by the fitted model, one ONNX batch.
READ_TOP = 8


def score(question: str, query: np.ndarray, hits: list[Hit], index: LoadedIndex) -> Scored:
    """Every distinct sentence of the hits, scored by the fitted sentence model."""
    q = analyse(question, term_weights(index))
    sentences, x = sentence_features(q, query, hits, index)
    scores = fitted.load().sentence.logit(x) if len(x) else np.zeros(0, np.float32)
    return Scored(q, sentences, x, scores, np.argsort(-scores, kind="stable"))


def read(scored: Scored, index: LoadedIndex) -> Scored:
    """The best `READ_TOP` sentences scored again by the reader, each with its headline; the
    others stay below them, in their order."""
    from qa.answer import reader

    model = reader.load()
    top = scored.order[:READ_TOP]
    articles = [index.data.articles[scored.sentences[i].hit.chunk.article_id] for i in top]
    passages = [
        (
            article.title,
            scored.sentences[i].text,
            before(scored.sentences[i], article) if model.context else "",
        )
        for i, article in zip(top, articles, strict=True)
    ]
    logits = model.logits(scored.question.text, passages)
    scores = scored.scores - scored.scores.max() + logits.min() - 100.0
    scores[top] = logits
    return replace(scored, scores=scores, order=np.argsort(-scores, kind="stable"), read=True)


def before(sentence: Sentence, article: Article) -> str:
    """The sentence before `sentence` in its article (empty for the first): where "he" or "the
    firm" of the sentence is often named, for a reader trained to read it."""
    if sentence.position:
        start, end = sentence.hit.chunk.sentences[sentence.position - 1]
        return article.text[start:end]
    spans = split_sentences(article.text[: sentence.start])
    return article.text[slice(*spans[-1])] if spans else ""


def read_parts(scored: Scored, parts: Sequence[Part], index: LoadedIndex) -> Scored:
    """Each part of the question read on its own over the same sentences: each sentence keeps
    its best logit of any reading (the confidence reads the best of all: on the tune sets the
    weakest part's instead lowered the AUROC, bbc-tune 0.89 → 0.86), and each part's best
    sentence (not already another's) is picked to be quoted. The part's other sentences it read
    are its runners-up: the reader often puts the answering sentence a close second to one on the
    part's topic that does not answer it ("The 32-year-old will race alongside ... Pavey" above
    "The 31-year-old [Pavey] was third ...")."""
    scores = scored.scores.copy()
    picked: list[int] = []
    runners_up: list[tuple[float, int]] = []
    for part in parts:
        own = read(score(part.text, part.query, scored_hits(scored), index), index)
        scores = np.maximum(scores, own.scores)
        best = next((int(i) for i in own.order if _new(own.sentences, picked, int(i))), None)
        if best is None:
            continue
        picked.append(best)
        runners_up += [
            (float(own.scores[best] - own.scores[i]), int(i), len(picked) - 1)
            for i in own.order[:READ_TOP]
            if int(i) != best
        ]
    order = np.argsort(-scores, kind="stable")
    return replace(
        scored,
        scores=scores,
        order=order,
        picked=tuple(picked),
        runners_up=tuple(sorted(runners_up)),
    )


def scored_hits(scored: Scored) -> list[Hit]:
    """The hits the sentences came from, in their order."""
    found: dict[str, Hit] = {}
    for s in scored.sentences:
        found.setdefault(s.hit.chunk.chunk_id, s.hit)
    return list(found.values())


def merged(hits: list[Hit], parts: Sequence[Part]) -> list[Hit]:
    """The question's hits, then each part's that are not among them."""
    seen = {h.chunk.chunk_id for h in hits}
    found = list(hits)
    for part in parts:
        for h in part.hits:
            if h.chunk.chunk_id not in seen:
                seen.add(h.chunk.chunk_id)
                found.append(h)
    return found


def confidence(
    scored: Scored,
    hits: list[Hit],
    index: LoadedIndex,
    policy: Policy,
    groups: list[list[int]],
) -> Confidence:
    """The probability that quoting `groups` (what `choose` picked) answers the question right."""
    model = fitted.load()
    threshold = model.threshold if policy.threshold is None else policy.threshold
    if not scored.sentences:
        return Confidence(0.0, threshold)
    quoted = [i for group in groups for i in group]
    row, missing = confidence_features(
        scored.question, scored.sentences, scored.features, scored.scores, hits, index, quoted
    )
    if scored.read:  # the reader's logit of its best sentence, with what the passages lack
        from qa.answer import reader

        z = (index.background or TYPICAL).z(max((h.dense for h in hits), default=-1.0))
        best = float(scored.scores[scored.order[0]])
        value = reader.load().confidence(best, bool(missing), z)
    else:
        value = float(model.confidence.probability(row))
    return Confidence(round(value, 4), threshold, missing)


def cite(groups: list[list[int]], scored: Scored, index: LoadedIndex) -> list[Citation]:
    """The numbered citations of the sentence groups `choose` picked."""
    return [_citation(n, group, scored, index) for n, group in enumerate(groups, start=1)]


def compose(
    question: str,
    query: np.ndarray,
    hits: list[Hit],
    index: LoadedIndex,
    policy: Policy,
    parts: Sequence[Part] = (),
) -> Answer:
    """The answer to `question` from `hits`: the quotes as an answer, as the closest the
    articles come, or that they do not tell (see the module's docstring). A question of
    `parts` (`qa.answer.parts`, with the reader only) is answered from their hits too, each part's
    best sentence quoted."""
    parts = parts if policy.reader else ()
    scored = score(question, query, merged(hits, parts), index)
    if policy.reader and scored.sentences:
        scored = read(scored, index)
        if parts:
            scored = read_parts(scored, parts, index)
    groups = choose(scored, policy) if scored.sentences else []
    conf = confidence(scored, hits, index, policy, groups)
    topical = on_topic(hits, index, scored.question.keys, conf.missing_keys)
    outcome: Outcome = "answer" if conf.answers else "closest"
    if not groups or (outcome == "closest" and not topical):
        outcome = "none"
    why = explain(scored, hits, index, groups, conf, outcome) | {
        "on_topic": topical,
        "parts": [p.text for p in parts],
    }
    if outcome == "none":
        return Answer(question, NOT_FOUND, outcome, (), confidence=conf, trace=why)
    citations = cite(groups, scored, index)
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    if outcome == "closest":
        text = f"{CLOSEST} {text}"
    return Answer(question, text, outcome, tuple(citations), confidence=conf, trace=why)


def on_topic(
    hits: list[Hit], index: LoadedIndex, keys: frozenset[str], missing: tuple[str, ...]
) -> bool:
    """Whether the passages are on the question's topic: the best one is closer to it than
    off-topic questions come (`TOPIC_Z`), or the question names something (`keys`: its names
    and numbers) and the passages hold every name it gives (none `missing`)."""
    best = max((h.dense for h in hits), default=-1.0)
    named = bool(keys) and not missing
    return named or (index.background or TYPICAL).z(best) >= TOPIC_Z


# Sentences shown in a trace: the best ones, enough to see what the quote beat.
TRACE_SENTENCES = 8


def explain(
    scored: Scored,
    hits: list[Hit],
    index: LoadedIndex,
    groups: list[list[int]],
    conf: Confidence,
    outcome: Outcome,
) -> dict:
    """Why the answer came out as it did: every passage with its dense, keyword and fused
    scores and ranks, the best sentences with their scores (the quoted ones marked), the
    confidence against the threshold, and the outcome."""
    articles = index.data.articles
    quoted = {i for group in groups for i in group} if outcome != "none" else set()
    return {
        "passages": [
            {
                "rank": h.rank,
                "chunk_id": h.chunk.chunk_id,
                "article_id": h.chunk.article_id,
                "title": articles[h.chunk.article_id].title,
                "fused": round(h.score, 4),
                "dense": round(h.dense, 4),
                "keyword": round(h.keyword, 4),
                "dense_rank": h.dense_rank,
                "keyword_rank": h.keyword_rank,
            }
            for h in hits
        ],
        "sentences": [
            {
                "chunk_id": scored.sentences[int(i)].hit.chunk.chunk_id,
                "text": scored.sentences[int(i)].text,
                "score": round(float(scored.scores[int(i)]), 4),
                "quoted": int(i) in quoted,
            }
            for i in scored.order[:TRACE_SENTENCES]
        ],
        "confidence": {
            "value": conf.value,
            "threshold": conf.threshold,
            "answers": conf.answers,
            "missing": list(conf.missing_keys),
        },
        "outcome": outcome,
    }


def choose(scored: Scored, policy: Policy) -> list[list[int]]:
    """The sentences to quote, as groups of indices into `scored.sentences`; a group is a run of
    adjacent sentences of one excerpt, quoted as one citation.

    The best sentence first. Then, for a question whose names the quote leaves out ("How old
    are Henman and Murray?"), the best sentence of another article holding some of them, within
    `part_margin` of the best score (with the reader: any sentence it read, since it scores
    a sentence that answers half the question low), until every name is shown or none is left.
    Then other sentences within `margin`, up to `max_quotes` in all.

    A question of parts is answered as that many questions: each part's best sentence, then its
    runners-up within `margin` of the part's best, the nearest first, up to `max_quotes` a part.
    (With `max_quotes` in all, a part's answering sentence read a close second was left out for
    the other part's runner-up: bbc-tune, bbc-tune2 and bbc-dev's tune half, both facts quoted
    47 → 53 of 90.)
    """
    margin = fitted.load().margin if policy.margin is None else policy.margin
    if scored.picked:
        chosen = list(scored.picked)
        quoted = [1] * len(chosen)  # of each part
        for gap, i, part in scored.runners_up:
            if gap > margin:
                break
            if (
                quoted[part] < policy.max_quotes
                and i not in chosen
                and _new(scored.sentences, chosen, i)
            ):
                chosen.append(i)
                quoted[part] += 1
        return _group(scored, chosen)
    part_margin = policy.part_margin
    if part_margin is None:
        part_margin = fitted.load().part_margin
    sentences, scores, order = scored.sentences, scored.scores, scored.order
    best = scores[order[0]]
    chosen = [int(order[0])]
    missing = _uncovered(scored, chosen)
    parts = order[1:]
    if scored.read:  # the reader scores a part low (it answers half): any it read may serve
        parts, part_margin = order[1:READ_TOP], np.inf
    for i in parts:
        if len(chosen) >= policy.max_quotes or not missing or scores[i] < best - part_margin:
            break
        cand = sentences[int(i)]
        held = missing & _found(cand)
        cited = {sentences[c].hit.chunk.article_id for c in chosen}
        if held and cand.hit.chunk.article_id not in cited and _new(sentences, chosen, int(i)):
            chosen.append(int(i))
            missing -= held
    for i in order[1:]:
        if len(chosen) >= policy.max_quotes or scores[i] < best - margin:
            break
        if int(i) not in chosen and _new(sentences, chosen, int(i)):
            chosen.append(int(i))
    return _group(scored, chosen)


def _found(sentence: Sentence) -> frozenset[str]:
    """The words a quote of this sentence shows the reader: its own and its headline's."""
    return terms(sentence.text) | sentence.headline


def _uncovered(scored: Scored, chosen: list[int]) -> set[str]:
    shown: set[str] = set()
    for i in chosen:
        shown |= _found(scored.sentences[i])
    return set(scored.question.keys) - shown


def _new(sentences: list[Sentence], chosen: list[int], i: int) -> bool:
    """Not the same text as a chosen sentence (another copy of the same story adds nothing)."""
    return sentences[i].text not in {sentences[c].text for c in chosen}


def _group(scored: Scored, chosen: list[int]) -> list[list[int]]:
    """Adjacent sentences of one excerpt join one group (one verbatim quote); a sentence apart
    from them in the same excerpt is a group of its own. A lone article lead gets its next
    sentence (`_complete`)."""
    sentences = scored.sentences
    groups: list[list[int]] = []
    for i in chosen:
        cand = sentences[i]
        for group in groups:
            first = sentences[group[0]]
            near = {sentences[g].position for g in group}
            if first.hit.row == cand.hit.row and (
                cand.position - 1 in near or cand.position + 1 in near
            ):
                group.append(i)
                group.sort(key=lambda g: sentences[g].start)
                break
        else:
            groups.append([i])
    return [_complete(group, scored) for group in groups]


def _complete(group: list[int], scored: Scored) -> list[int]:
    """Quote the next sentence too when a lone quote is its article's opening sentence.

    A news story's first sentence sums the story up and the next ones hold its particulars
    (the name, the figure), so a question that matches the summary best is often answered by
    the sentence after it: "One of Japan's best-known businessmen was arrested on Thursday..."
    + "Yoshiaki Tsutsumi was once ranked as the world's richest man...". The next sentence is
    added when it holds the answer type the question asks for (or the question asks none).
    """
    lead = scored.sentences[group[0]]
    if len(group) > 1 or lead.start != 0 or len(lead.hit.chunk.sentences) < 2:
        return group
    start = lead.hit.chunk.sentences[1][0]
    for i, cand in enumerate(scored.sentences):
        if cand.hit.chunk.article_id == lead.hit.chunk.article_id and cand.start == start:
            if cand.holds is not False and cand.hit.row == lead.hit.row:
                return [*group, i]
            return group
    return group


def _citation(n: int, group: list[int], scored: Scored, index: LoadedIndex) -> Citation:
    members = [scored.sentences[i] for i in group]
    chunk = members[0].hit.chunk
    start, end = min(c.start for c in members), max(c.end for c in members)
    score = float(max(scored.scores[i] for i in group))
    return citation(n, chunk, index.data.articles[chunk.article_id], (start, end), score)


def citation(
    n: int, chunk: Chunk, article: Article, span: tuple[int, int], score: float
) -> Citation:
    """Citation `n`: the chunk as its excerpt, the article's text at `span` as its quote."""
    start, end = span
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        published=article.published,
        chunk_id=chunk.chunk_id,
        excerpt=chunk.text,
        quote=article.text[start:end],
        score=round(score, 4),
        quote_start=start - chunk.start,
        quote_end=end - chunk.start,
        source=article.source,
        url=article.url,
    )
