"""Follow-up questions answered right with the conversation's history and without it.

    python benchmarks/conversations.py [--precision fp32] [--sets tune test]

Over one index of the seed article and the 2,225 BBC articles (the `qa eval` cache of
eval/seed-in-bbc, built first if missing), each scripted conversation of
tests/data/conversations-<set>.jsonl is asked turn by turn, once with the earlier questions as
history and once without. The rules of `qa.answer.followup` were tuned on the "tune" set only; the
"test" set was written apart, from the articles alone, and is the held-out figure. Writes
benchmarks/results/conversations.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.eval import conversations
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import ensure_index

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precision", default="fp32", help="of the index (fp32: the cached one)")
    parser.add_argument("--sets", nargs="+", default=["tune", "test"])
    parser.add_argument("--verbose", action="store_true", help="print every follow-up")
    args = parser.parse_args()
    settings = Settings.from_env().with_(precision=args.precision)
    embedder = Embedder.load(
        settings.model, settings.precision, settings.query_runtime, settings.model_cache
    )
    cached, _ = ensure_index(settings, load_dataset(ROOT / "eval" / "seed-in-bbc"), embedder)
    engine = Engine.load(cached, embedder)
    results = {}
    for name in args.sets:
        found = conversations.run(engine, conversations.load(DATA / f"conversations-{name}.jsonl"))
        results[name] = found
        n = found["follow_ups"]
        print(
            f"{name}: {found['conversations']} conversations, {n} follow-ups; "
            f"right {found['with_history_right']}/{n} with history, "
            f"{found['alone_right']}/{n} alone; article in top {conversations.FOUND_DEPTH} "
            f"{found['with_history_found']}/{n} with history, {found['alone_found']}/{n} alone; "
            f"first turns right {found['first_turns_right']}/{found['conversations']}"
        )
        if args.verbose:
            for row in found["turns"]:
                if row["turn"] > 1:
                    h = row["with_history"]
                    print(
                        f"  {row['conversation']}.{row['turn']} right={h['right']} "
                        f"found={h['found']} {h['query']!r}"
                    )
    out = ROOT / "benchmarks" / "results" / "conversations.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
