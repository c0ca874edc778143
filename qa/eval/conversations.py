"""Scripted conversations: how many follow-up questions are answered right, with the
conversation's history and without it.

A conversation file is JSON lines, one conversation each:
`{"id", "turns": [{"question", "article_id", "answer"}, ...]}`, where `answer` is a short span
of the article's text. A turn is answered right when the answer is not an abstention and one of
its quotes holds that span as whole words (`qa.text.holds`: whitespace, case and quote marks
aside); it is found when the
article is among the top five passages retrieved for the query the turn was asked as.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.answer import followup
from qa.errors import UsageError
from qa.text import holds

FOUND_DEPTH = 5


@dataclass(frozen=True)
class Turn:
    question: str
    article_id: str
    answer: str


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Turn, ...]


def load(path: Path) -> list[Conversation]:
    """The conversations of a file; a malformed line is a UsageError naming it."""
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = tuple(Turn(t["question"], t["article_id"], t["answer"]) for t in row["turns"])
            conversations.append(Conversation(str(row["id"]), turns))
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(
                f"{path}:{number} is not a conversation ({error}): write "
                '{"id": ..., "turns": [{"question", "article_id", "answer"}, ...]}.'
            ) from None
    return conversations


def run(engine: Any, conversations: list[Conversation]) -> dict[str, Any]:
    """Every turn asked with its history and alone; per turn and in total (follow-ups only)."""
    rows = []
    for conversation in conversations:
        for n, turn in enumerate(conversation.turns):
            history = [t.question for t in conversation.turns[:n]]
            row: dict[str, Any] = {"conversation": conversation.id, "turn": n + 1}
            for label, earlier in (("with_history", history), ("alone", [])):
                answer = engine.ask(turn.question, history=earlier)
                _, hits = engine.search(followup.rewrite(turn.question, earlier), k=FOUND_DEPTH)
                quotes = [c.quote for c in answer.citations]
                row[label] = {
                    "query": answer.query,
                    # the quotes shown (as the answer or the closest) hold the answer
                    "right": any(holds(q, turn.answer) for q in quotes),
                    "found": turn.article_id in {h.chunk.article_id for h in hits},
                    "abstained": answer.abstained,
                }
            rows.append(row)
    follow_ups = [r for r in rows if r["turn"] > 1]
    return {
        "conversations": len(conversations),
        "follow_ups": len(follow_ups),
        "first_turns_right": sum(r["with_history"]["right"] for r in rows if r["turn"] == 1),
        **{
            f"{label}_{what}": sum(r[label][what] for r in follow_ups)
            for label in ("with_history", "alone")
            for what in ("right", "found")
        },
        "turns": rows,
    }
