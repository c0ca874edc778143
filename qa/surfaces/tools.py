"""`ask` and `search` as tools for agents (served over MCP by `qa serve --mcp`).

Gradio names an MCP tool after its function and describes it from the docstring's first
paragraph and its `Args:`; it sends the return value as text, so both return JSON strings:
`ask` the `qa ask --json` object, `search` the ranked passages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qa.answer.engine import checked_history, checked_question
from qa.errors import QAError, UsageError

SEARCH_MAX = 50


def make_tools(engine: Any) -> tuple[Callable[[str, str], str], Callable[[str, int], str]]:
    """The two tool functions over a loaded `Engine`."""

    def ask(question: str, history: str = "[]") -> str:
        """Answer a question about the news articles in the index, quoting them word for word.

        Returns the answer as JSON: "answer" with [n] markers, "abstained" (true when the
        articles do not say), "citations" (each with article_id, title, published, excerpt and
        the exact "quote"), "confidence" and "query" (what was searched for).

        Args:
            question: the question, in plain words.
            history: the earlier questions, a JSON list oldest first ("[]": none).
        """
        try:
            question = checked_question(question)
            earlier = checked_history(_history(history))
            return json.dumps(engine.ask(question, history=earlier).to_json(), ensure_ascii=False)
        except QAError as error:
            return json.dumps({"question": _shown(question), "error": str(error)})

    def search(query: str, k: int = 5) -> str:
        """Find the passages of the news articles closest to a query, best first.

        Returns a JSON list of passages: rank, article_id, title, published, chunk_id, text and
        score (higher is closer). Use it to read around a topic; use ask for a cited answer.

        Args:
            query: what to look for, in words.
            k: how many passages to return (1 to 50).
        """
        try:
            query = checked_question(query, "The query")
            k = _passages(k)
            _, hits = engine.search(query, k=k)
        except QAError as error:
            return json.dumps({"query": _shown(query), "error": str(error)})
        articles = engine.index.data.articles
        return json.dumps(
            [
                {
                    "rank": h.rank,
                    "article_id": h.chunk.article_id,
                    "title": articles[h.chunk.article_id].title,
                    "published": articles[h.chunk.article_id].published,
                    "chunk_id": h.chunk.chunk_id,
                    "text": h.chunk.text,
                    "score": round(h.score, 4),
                }
                for h in hits
            ],
            ensure_ascii=False,
        )

    return ask, search


def _history(raw: object) -> object:
    """The history argument: a JSON list in a string (as MCP clients send it) or a list."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw or "[]")
    except (ValueError, RecursionError):
        raise UsageError(
            'history must be a JSON list of earlier questions, e.g. ["Who is X?"].'
        ) from None


def _passages(k: object) -> int:
    """`k` as a whole number of passages from 1 to `SEARCH_MAX`, whatever a client sent."""
    if isinstance(k, str) and k.strip().isdigit():
        k = int(k)
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if type(k) is not int or not 1 <= k <= SEARCH_MAX:
        raise UsageError(f"k={_shown(k)} is not a number of passages: ask for 1 to {SEARCH_MAX}.")
    return k


def _shown(value: object) -> str | None:
    """A value a client sent, short enough to echo back in an error."""
    if value is None or isinstance(value, str) and len(value) <= 200:
        return value
    return repr(value)[:200]
