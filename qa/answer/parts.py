"""Questions that ask two things: split into parts, each retrieved and read on its own.

"How many Bafta nominations did The Aviator get, and how many Oscars did it win?" is answered
by two sentences, often of two articles, and neither answers the whole question: read whole,
each scores low and the second is seldom among the passages at all. So such a question is split
here, by its form alone, and each part gets its own retrieval, its own reading and its own quote
(`qa.answer.compose.compose`). Three forms are split; anything else stays one question:

- two questions joined by "and": "..., and which paper printed it?";
- a choice: "Which lost more: Solidere after ..., or Petrel after ...?", "Who is older, A or B?";
- "Compare A with B: ...";
- one thing asked of two: "Which actress won both at the Baftas and from the LA critics?".

A statement before the question ("Hewitt announced both X and Y. What will ..., and where ...?",
or a topic before a colon: "Lord Goldsmith: whom did he consult, and which letter ...?") goes
with each part: it names what the parts speak of. Without one, the part before goes with a
part that names nothing of its own ("On what date did X and Y marry, and where was the wedding
held?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa import text

if TYPE_CHECKING:
    from qa.answer.retrieval import Hit

_WH = r"(?:what|which|who|whom|whose|where|when|why|how)"
# ", and how many Oscars ..." / " and which rival ...": a second question begins
_AND_WH = re.compile(
    rf",?\s+and\s+(?=(?:(?:with|from|in|at|to|for|by|on|of)\s+)?{_WH}\b)", re.IGNORECASE
)
# "Which/Who/Whose ...: A, or B?" and "Who is older, A or B?"
_CHOICE = re.compile(
    r"^(?P<head>(?:which|who|whose)\b[^:,?]*?)\s*[:,]\s*(?P<a>[^?]+?),?\s+or\s+(?P<b>[^?]+?)\s*\??$",
    re.IGNORECASE,
)
_COMPARE = re.compile(r"^compare\s+(?P<a>.+?)\s+with\s+(?P<b>.+?)\s*[:?]", re.IGNORECASE)
# "Which defender was criticised both by Edu and by Marca?": who or what is both A and B ("Why
# could she not run both London and Boston?" asks one thing, so only these openings)
_BOTH = re.compile(
    r"^(?P<head>(?:which|who|whom|what)\b.*?)\s+both\s+(?P<a>.+?)\s+and\s+(?P<b>[^?]+?)\s*\??$",
    re.IGNORECASE,
)
# "Attorney General Lord Goldsmith: whom did he ...": a topic, then the question
_TOPIC = re.compile(
    rf"^(?P<topic>(?!{_WH}\b|compare\b)[^:?]+:)\s+(?P<ask>{_WH}\b.+)$", re.IGNORECASE
)
# A statement before the question: a sentence that ends before the last one starts.
_SENTENCE_END = re.compile(r"(?<=[.!])\s+(?=[A-Z])")
# A part shorter than this many words ("and why?") is not a question of its own.
MIN_WORDS = 3


@dataclass(frozen=True)
class Part:
    """One part of a question, with its own retrieval: the text read, its vector, its hits."""

    text: str
    query: np.ndarray
    hits: list[Hit]


def split(question: str) -> tuple[str, ...]:
    """The parts of a question that asks two (or more) things, each a question of its own;
    empty for a question that asks one thing."""
    *lead, ask = _SENTENCE_END.split(question.strip())
    if m := _TOPIC.match(ask.strip()):
        lead, ask = [*lead, m["topic"]], m["ask"]
    found = _split_ask(ask.strip())
    if len(found) < 2 or any(len(p.split()) < MIN_WORDS for p in found):
        return ()
    parts = [found[0]]
    for earlier, part in zip(found, found[1:], strict=False):
        parts.append(part if lead or _names_something(part) else f"{earlier} {part}")
    prefix = " ".join(lead)
    return tuple(f"{prefix} {p}".strip() for p in parts)


def _names_something(part: str) -> bool:
    """A name or a number past the part's first word ("where was the wedding held?": none)."""
    return bool(text.names(part, openings=False) or text.numbers(part, spoken_one=False))


def _split_ask(ask: str) -> list[str]:
    if m := _CHOICE.match(ask):
        return [f"{m['head']}: {m['a']}?", f"{m['head']}: {m['b']}?"]
    if m := _COMPARE.match(ask):
        return [f"{m['a']}?", f"{m['b']}?"]
    pieces = [p.strip() for p in _AND_WH.split(ask) if p.strip()]
    if len(pieces) >= 2:
        return [_question(p) for p in pieces]
    if m := _BOTH.match(ask):
        return [f"{m['head']} {m['a']}?", f"{m['head']} {m['b']}?"]
    return []


def _question(piece: str) -> str:
    """A piece as a question of its own: capitalised, ending in a question mark."""
    text = piece if piece.endswith("?") else f"{piece.rstrip(',.;')}?"
    return text[0].upper() + text[1:]
