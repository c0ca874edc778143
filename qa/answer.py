"""Compose an extractive, cited answer from retrieved chunks, or abstain.

TO BE IMPLEMENTED (the dataclasses are the contract).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

NOT_FOUND = "I could not find this in the articles."


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
        contract = ("n", "article_id", "title", "published", "chunk_id", "excerpt", "quote", "score")
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [{k: asdict(c)[k] for k in contract} for c in self.citations],
            "related": [{k: asdict(c)[k] for k in contract} for c in self.related],
            "timings_ms": self.timings_ms,
        }
