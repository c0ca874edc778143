"""`ask` and `search` as tools for agents (served over MCP by `qa serve --mcp`).

Gradio names an MCP tool after its function and describes it from the docstring's first
paragraph and its `Args:`; it sends the return value as text, so both return JSON strings:
`ask` the `qa ask --json` object, `search` the ranked passages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qa.engine import checked_question
from qa.errors import QAError

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
            earlier = _history(history)
            question = checked_question(question)
            return json.dumps(engine.ask(question, history=earlier).to_json(), ensure_ascii=False)
        except QAError as error:
            return json.dumps({"question": question, "error": str(error)}, ensure_ascii=False)

    def search(query: str, k: int = 5) -> str:
        """Find the passages of the news articles closest to a query, best first.

        Returns a JSON list of passages: rank, article_id, title, published, chunk_id, text and
        score (higher is closer). Use it to read around a topic; use ask for a cited answer.

        Args:
            query: what to look for, in words.
            k: how many passages to return (1 to 50).
        """
        try:
            query = checked_question(query)
            if not 1 <= int(k) <= SEARCH_MAX:
                raise QAError(f"k={k} is out of range: ask for 1 to {SEARCH_MAX} passages.")
            _, hits = engine.search(query, k=int(k))
        except QAError as error:
            return json.dumps({"query": query, "error": str(error)}, ensure_ascii=False)
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


def _history(raw: str) -> list[str]:
    try:
        found = json.loads(raw or "[]")
    except ValueError:
        found = None
    if not isinstance(found, list) or not all(isinstance(q, str) for q in found):
        raise QAError('history must be a JSON list of earlier questions, e.g. ["Who is X?"].')
    return found
