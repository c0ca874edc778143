"""Full build against incremental updates of the BBC corpus, in one process.

    python benchmarks/update_speed.py [--corpus FILE] [--work DIR] [--reuse]

Works on a copy of the corpus (never on ../shared): one full build, then `update_index` after
changing 1 article, after removing 25, after adding those 25 back, after rewriting the file
with the same articles, and with nothing changed.
Seconds are measured in-process (Python start-up, the torch import and the model load are not
part of them; a separate end-to-end `qa index update` run shows what they add). Prints the
figures and writes benchmarks/results/update_speed.json; the goal is one changed article in
<= 3 s and >= 20x faster than the full build. The final index is kept in WORK/index, where
benchmarks/crash.py finds it. `--reuse` skips the full build: it brings the index left in WORK
by an earlier run up to date with the original corpus (a keyword-settings change re-tokenizes
there, nothing is re-embedded) and takes the full-build seconds from the earlier results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.index.indexing import BuildReport, build_index, update_index

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
N_BATCH = 25


def write(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    os.replace(tmp, path)


def figures(report: BuildReport, full_seconds: float) -> dict:
    return {
        "seconds": round(report.seconds, 2),
        "speedup_vs_full": round(full_seconds / report.seconds, 1),
        "changes": report.changes.summary(),
        "embedded_chunks": report.embedded,
        "reused_chunks": report.reused,
        "stage_seconds": {k: round(v, 2) for k, v in report.stage_seconds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench-update")
    parser.add_argument("--reuse", action="store_true", help="keep WORK/index: no full build")
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus} (the BBC corpus lives in ../shared/corpora)")
    out = ROOT / "benchmarks" / "results" / "update_speed.json"
    reuse = args.reuse and (args.work / "index" / "CURRENT").is_file() and out.is_file()

    if not reuse:
        shutil.rmtree(args.work, ignore_errors=True)
    (args.work / "corpus").mkdir(parents=True, exist_ok=True)
    copy = args.work / "corpus" / "corpus.jsonl"
    rows = [json.loads(line) for line in args.corpus.read_text("utf-8").splitlines() if line]
    write(copy, rows)
    settings = Settings(corpus=copy.parent, index=args.work / "index")
    load_before = os.getloadavg()

    embedder = Embedder.load(settings.model, settings.precision)
    if reuse:
        earlier = json.loads(out.read_text(encoding="utf-8"))
        full = update_index(settings, embedder)
        full_seconds = earlier["full_build_seconds"]
        print(f"reused index, brought up to date in {full.seconds:.1f} s ({full.summary()})")
    else:
        full = build_index(settings, embedder)
        full_seconds = full.seconds
        print(f"full build: {full.seconds:.1f} s, {full.articles} articles, {full.chunks} chunks")
    result: dict = {
        "corpus": args.corpus.name,
        "articles": full.articles,
        "chunks": full.chunks,
        "sentences": full.sentences,
        "cpu_cores": os.cpu_count(),
        "full_build_seconds": round(full_seconds, 2),
        "full_build_stage_seconds": (
            earlier["full_build_stage_seconds"]
            if reuse
            else {k: round(v, 2) for k, v in full.stage_seconds.items()}
        ),
        "full_build_reused_from_an_earlier_run": reuse,
        "updates": {},
    }

    def run(name: str, new_rows: list[dict]) -> None:
        write(copy, new_rows)
        report = update_index(settings, embedder)
        result["updates"][name] = figures(report, full_seconds)
        print(f"{name}: {json.dumps(result['updates'][name])}")

    # One article changed: a sentence added to its last paragraph (spread over the middle).
    changed = [dict(r) for r in rows]
    victim = changed[len(changed) // 2]
    victim["text"] = victim["text"].rstrip() + " A spokesperson later confirmed the figures."
    run("change_1", changed)
    removed_ids = {r["id"] for r in changed[:: len(changed) // N_BATCH][:N_BATCH]}
    without = [r for r in changed if r["id"] not in removed_ids]
    run(f"remove_{N_BATCH}", without)
    run(f"add_{N_BATCH}", changed)  # the same 25 back: their vectors are gone, so re-embedded
    # The file rewritten with the same articles: its fingerprint changed, so a generation is
    # written to record it, with nothing embedded.
    run("file_rewritten_same_articles", changed)
    report = update_index(settings, embedder)  # nothing touched at all: the up-to-date check
    result["updates"]["nothing_changed"] = figures(report, full_seconds)

    # End to end, as a user runs it: Python start-up, imports and model load included.
    victim["text"] = victim["text"] + " The figures were revised again on Friday."
    write(copy, changed)
    command = [
        sys.executable,
        "-m",
        "qa",
        "index",
        "update",
        "--corpus",
        str(copy.parent),
    ]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--index", str(settings.index)], capture_output=True, text=True, check=True
    )
    result["cli_change_1_wall_seconds"] = round(time.perf_counter() - started, 2)
    # the summary names the generation folder: relative to the repository, not this machine
    result["cli_change_1_output"] = done.stdout.replace(f"{ROOT}/", "").strip().splitlines()
    result["load_average"] = {"start": load_before[0], "end": os.getloadavg()[0]}

    change = result["updates"]["change_1"]
    result["goal_change_1"] = {
        "at_most_3_s": change["seconds"] <= 3.0,
        "at_least_20x": change["speedup_vs_full"] >= 20,
    }
    print(json.dumps(result, indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
