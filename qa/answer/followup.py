"""Follow-up questions: what a question asks, given the questions before it in a conversation.

"How much did it rise?" means nothing to a retriever; after "What happened to Time Warner's
profits?" it means "How much did Time Warner's profits rise?". Without a language model the
rewrite is done with rules over the words, and it only ever adds words, so the user's own
question is always part of the query:

- a question that stands on its own (it names something and points back at nothing) is
  left as it is: the conversation has moved on;
- an elliptical one ("And in 2003?", "What about the other one?", "Why?") is read after the
  question before it, whole;
- one that points back ("he", "its", "that deal") or names nothing carries the names of the
  question before it ("Time Warner"), then its other content words ("profits").

The rewrite is what is retrieved for; the answer's sentences are then scored against the
user's own words (with the rewritten question's vector), so the carried names find the
article without pulling the quote back to the sentence that answered the turn before.

Each earlier question is resolved in turn, so a third turn carries what the first one named
through the second. Only questions are used, never answers: the same conversation gives the
same query in the chat, `qa chat` and `qa ask --json -`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.text import names, tokens, words

# Earlier questions looked at: a conversation's subject is in its last few turns.
MAX_TURNS = 4
# A continuation with more content words than this is a question of its own.
ELLIPSIS_WORDS = 1
# Words that point back at something said before.
_POINTERS = frozenset(
    """he him his she her hers it its they them their theirs this that these those there then
    such other others another else former latter same""".split()
)
# Openings that continue the previous question rather than ask a new one.
_CONTINUES = re.compile(
    r"^\s*(?:and|but|or|also|so|then|what about|how about|what of|and what about|same for)\b",
    re.IGNORECASE,
)


def rewrite(question: str, history: Sequence[str] = ()) -> str:
    """The retrieval query for `question` after `history` (earlier questions, oldest first);
    the question itself when it stands alone or there is no history."""
    context = ""
    for earlier in history[-MAX_TURNS:]:
        context = _resolve(earlier, context)
    return _resolve(question, context)


def _resolve(question: str, context: str) -> str:
    question = question.strip()
    if not context:
        return question
    if _continues(question):
        return f"{context} {question}"
    if _points_back(question) or not names(question):
        own = set(words(question))
        carried = [n for n in names(context) if n.casefold() not in question.casefold()]
        held = " ".join(carried)
        carried += [w for w in _content_words(context) if words(w)[0] not in own and w not in held]
        return " ".join([question, *carried])
    return question


def _continues(question: str) -> bool:
    """Elliptical: a question word or two ("Why?", "How much?"), or a continuation ("And in
    2003?", "What about the budget?") with at most `ELLIPSIS_WORDS` words of its own;
    "And who won the first novel section?" asks a question of its own."""
    own = len(words(question))
    return own == 0 or (bool(_CONTINUES.match(question)) and own <= ELLIPSIS_WORDS)


def _points_back(question: str) -> bool:
    return any(t.casefold().strip("'’.-") in _POINTERS for t in tokens(question))


def _content_words(text: str) -> list[str]:
    """The words of `text` that BM25 counts, as written, each once."""
    seen: set[str] = set()
    found = []
    for token in tokens(text):
        stems = words(token)
        if stems and stems[0] not in seen:
            seen.add(stems[0])
            found.append(token.strip("'’.-"))
    return found
