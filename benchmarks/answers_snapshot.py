"""Every answer on the test sets, to hold behaviour still while the code is reorganised.

    python benchmarks/answers_snapshot.py write before.json   # on the old code
    python benchmarks/answers_snapshot.py write after.json    # on the new code
    python benchmarks/answers_snapshot.py compare before.json after.json

`write` asks every question of `eval/seed-test` and `eval/bbc-test` (hybrid, default settings)
and keeps what a user sees: the outcome, the answer text, the cited chunks and quotes, and the
confidence. `compare` prints the questions whose answers differ and exits 1 when any does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import ensure_index

ROOT = Path(__file__).resolve().parents[1]
SETS = ("eval/seed-test", "eval/bbc-test")


def snapshot(embedder: Embedder) -> dict[str, dict]:
    """Question id (set/id) -> what the answer shows."""
    seen: dict[str, dict] = {}
    for name in SETS:
        data = load_dataset(ROOT / name, "all")
        settings, _ = ensure_index(Settings(), data, embedder)
        engine = Engine.load(settings, embedder)
        for query in data.queries:
            answer = engine.ask(query.question)
            seen[f"{name}/{query.id}"] = {
                "outcome": answer.outcome,
                "text": answer.text,
                "citations": [[c.chunk_id, c.quote] for c in answer.citations],
                "confidence": round(answer.confidence.value, 4) if answer.confidence else None,
            }
    return seen


def compare(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """The question ids whose answers differ, or that only one side has."""
    return sorted(q for q in before.keys() | after.keys() if before.get(q) != after.get(q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write").add_argument("out", type=Path)
    pair = sub.add_parser("compare")
    pair.add_argument("before", type=Path)
    pair.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "write":
        s = Settings()
        seen = snapshot(Embedder.load(s.model, s.precision, s.query_runtime, s.model_cache))
        args.out.write_text(json.dumps(seen, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{len(seen)} answers written to {args.out}")
        return
    before, after = (json.loads(p.read_text(encoding="utf-8")) for p in (args.before, args.after))
    differ = compare(before, after)
    for q in differ:
        print(f"{q}\n  before: {before.get(q)}\n  after:  {after.get(q)}")
    print(f"{len(before)} before, {len(after)} after, {len(differ)} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
