"""Kill index builds of the BBC corpus with SIGKILL, 20 times, and check each recovery.

    python benchmarks/crash.py [--kills 20] [--base-index DIR] [--corpus FILE] [--seed 5]

Starts from a copy of a complete BBC index (WORK/index of benchmarks/update_speed.py by
default, else .cache/bench-bbc-index, else it builds one) and a copy of the corpus with
articles changed, added and removed, so each run has every stage to go through. One run to
completion on a scratch copy measures how long a run takes; then `qa index update` (and, one
time in four, `qa index build --full`) is started as a subprocess and killed at a random moment
of that span, while it holds the writer lock, or while it writes the new generation's folder.

After each kill the index must load and give the same answers as before the kill (or, when
the kill came after the atomic switch, the answers of the finished update); after the last,
a build must succeed, leave no temporary folder, and answer like the uninterrupted run.
Writes benchmarks/results/crash.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from qa.answer.engine import Engine
from qa.config import Settings
from qa.embed.embedding import Embedder
from qa.index import store
from qa.index.indexing import build_index

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
WORK = ROOT / ".cache" / "bench-crash"
N_EACH = 10  # articles changed, added and removed in the corpus the killed runs index
QUESTIONS = [
    "How much did Time Warner's quarterly profit rise?",
    "Who won the Australian Open?",
    "What did the Chancellor say about the economy?",
    "Which mobile phone company launched a new handset?",
    "A spokesperson later confirmed the figures: what were they about?",
]


def answers(settings: Settings, embedder: Embedder) -> list[dict]:
    engine = Engine.load(settings, embedder)
    return [dict(engine.ask(q).to_json(), timings_ms=None) for q in QUESTIONS]


def temp_folders(index: Path) -> set[str]:
    return {p.name for p in index.iterdir() if p.name.startswith(".tmp-")}


RUNNING: list[subprocess.Popen] = []  # killed on the way out, should this script be stopped


def start(command: list[str], settings: Settings) -> tuple[subprocess.Popen, set[str]]:
    """The process, and the temporary folders killed runs left before it (not its own)."""
    leftovers = temp_folders(settings.index)
    args = [sys.executable, "-m", "qa", "index", *command]
    args += ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    RUNNING.append(proc)
    return proc, leftovers


def stop_children() -> None:
    for proc in RUNNING:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stage_of(proc: subprocess.Popen, index: Path, leftovers: set[str], generation: str) -> str:
    if store.current_name(index) != generation:
        return "after the switch (exiting)"
    if temp_folders(index) - leftovers:
        return "writing"
    try:
        if (index / store.WRITER).read_text().split()[0] == str(proc.pid):
            return "locked: reading, chunking or embedding"
    except (OSError, IndexError):
        pass
    return "start-up (imports, model load)"


def kill(
    proc: subprocess.Popen, leftovers: set[str], index: Path, plan: str, moment: float
) -> tuple[str, float]:
    """SIGKILL by `plan`: at `moment` s, `moment` s after taking the lock, or when writing."""
    generation = store.current_name(index)
    started = time.monotonic()
    trigger: float | None = None
    while proc.poll() is None:
        now = time.monotonic() - started
        stage = stage_of(proc, index, leftovers, generation)
        if plan == "writing":
            fire = stage == "writing"
        elif plan == "locked":
            if trigger is None and stage != "start-up (imports, model load)":
                trigger = now + moment
            fire = trigger is not None and now >= trigger
        else:
            fire = now >= moment
        if fire:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return stage, now
        time.sleep(0.005)
    return "finished before the kill", time.monotonic() - started


def corpus_variant(rows: list[dict], rng: random.Random) -> list[dict]:
    """The corpus with N_EACH articles changed, N_EACH removed and N_EACH added."""
    rows = [dict(r) for r in rows]
    picked = rng.sample(range(len(rows)), 3 * N_EACH)
    for i in picked[:N_EACH]:
        rows[i]["text"] = rows[i]["text"].rstrip() + " A spokesperson later confirmed the figures."
    added = []
    for n, i in enumerate(picked[N_EACH : 2 * N_EACH]):
        source = rows[i]
        added.append(dict(source, id=f"crash-new-{n}", title=f"Follow-up: {source['title']}"))
    removed = {rows[i]["id"] for i in picked[2 * N_EACH :]}
    return [r for r in rows if r["id"] not in removed] + added


def base_index(args: argparse.Namespace, embedder: Embedder) -> Path:
    for candidate in (args.base_index, ROOT / ".cache" / "bench-update" / "index",
                      ROOT / ".cache" / "bench-bbc-index"):  # fmt: skip
        if candidate and store.current_name(candidate):
            manifest = store.read_manifest(candidate)
            if manifest["counts"]["articles"] == len(args.rows):
                return candidate
    built = WORK / "base-index"
    build_index(Settings(corpus=args.corpus, index=built), embedder)
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--base-index", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus} (the BBC corpus lives in ../shared/corpora)")
    args.rows = [json.loads(line) for line in args.corpus.read_text("utf-8").splitlines() if line]
    rng = random.Random(args.seed)
    load_before = os.getloadavg()

    embedder = Embedder.load()
    base = base_index(args, embedder)
    shutil.rmtree(WORK / "run", ignore_errors=True)
    corpus = WORK / "run" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "corpus.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in corpus_variant(args.rows, rng)), "utf-8"
    )
    settings = Settings(corpus=corpus, index=WORK / "run" / "index")
    shutil.copytree(base, settings.index)
    before = answers(settings, embedder)
    generation = store.current_name(settings.index)

    # One uninterrupted run on a scratch copy: how long a run takes, and what it answers.
    scratch = settings.with_(index=WORK / "run" / "scratch-index")
    shutil.copytree(base, scratch.index)
    t = time.monotonic()
    probe, _ = start(["update"], scratch)
    _, err = probe.communicate(timeout=1800)
    if probe.returncode != 0:
        sys.exit(f"the uninterrupted update failed: {err.decode()}")
    span = time.monotonic() - t
    finished = answers(scratch, embedder)
    shutil.rmtree(scratch.index)
    print(f"one uninterrupted `qa index update`: {span:.1f} s")

    base_answers, base_generation = before, generation
    trials: list[dict] = []
    attempt = 0
    while len(trials) < args.kills and attempt < 2 * args.kills:
        n, attempt = len(trials), attempt + 1
        command = ["build", "--full"] if n % 4 == 3 else ["update"]
        plan, moment = [
            ("random", rng.uniform(0.05, 0.9) * span),
            ("locked", rng.uniform(0.0, 0.5) * span),
            ("random", rng.uniform(0.05, 0.9) * span),
            ("random", rng.uniform(0.05, 0.9) * span),
            ("writing", 0.0),
        ][n % 5]
        proc, leftovers = start(command, settings)
        stage, at = kill(proc, leftovers, settings.index, plan, moment)
        now = store.current_name(settings.index)
        got = answers(settings, embedder)
        if now == generation:
            recovered, state = got == before, "previous generation"
        else:  # finished, or killed after the atomic switch: the new generation is complete
            recovered, state = got == finished, "new generation"
        if stage != "finished before the kill":
            trials.append(
                {"kill": n + 1, "command": " ".join(command), "plan": plan,
                 "at_seconds": round(at, 2), "stage": stage, "index_after": state,
                 "same_answers": recovered}
            )  # fmt: skip
            print(json.dumps(trials[-1]))
        if now != generation:  # start the next kill from the old index again
            shutil.rmtree(settings.index)
            shutil.copytree(base, settings.index)
            generation, before = base_generation, base_answers

    proc, _ = start(["update"], settings)
    _, err = proc.communicate(timeout=1800)
    leftovers = sorted(temp_folders(settings.index))
    final_ok = proc.returncode == 0 and not leftovers and answers(settings, embedder) == finished
    recoveries = sum(t["same_answers"] for t in trials)
    result = {
        "corpus": f"{args.corpus.name} ({len(args.rows)} articles) with {N_EACH} changed, "
        f"{N_EACH} added, {N_EACH} removed",
        "uninterrupted_update_seconds": round(span, 1),
        "kills": len(trials),
        "recoveries": recoveries,
        "killed_by_stage": {
            s: sum(t["stage"] == s for t in trials) for s in sorted({t["stage"] for t in trials})
        },  # fmt: skip
        "next_build_succeeded": final_ok,
        "next_build_error": err.decode().strip()[-500:] if proc.returncode else "",
        "load_average": {"start": load_before[0], "end": os.getloadavg()[0]},
        "trials": trials,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "trials"}, indent=2))
    out = ROOT / "benchmarks" / "results" / "crash.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if recoveries != len(trials) or not final_ok:
        sys.exit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` runs on kill
    try:
        main()
    finally:
        stop_children()
