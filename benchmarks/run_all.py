"""Every benchmark in one go (`make bench`): results in benchmarks/results/, summary in SUMMARY.md.

    python benchmarks/run_all.py [--skip-eval] [--skip-build] [--skip-latency]
                                 [--datasets NAME ...] [--limit N]

1. `qa eval` in every mode on each held-out set (`HELD_OUT`: sets no fit has seen, and the
   test halves of the dev sets): results/eval-NAME.json, .md and .png. Indexes are cached
   under .cache/eval/ and reused, so only the first run pays for embedding (RealTime QA:
   37,000 chunks, the slow one; the seed among the BBC stories, the other).
2. Build speed (benchmarks/build_speed.py): a full BBC build against the bare `model.encode`
   of the same chunks. It rebuilds the index every time (minutes): `--skip-build` keeps the
   last results/build_speed.json.
3. Latency and memory (benchmarks/latency.py): ask p50/p95 on the BBC index and on a
   synthetic 10,000-chunk index, and the peak memory of a process that loads the BBC index
   and answers; then benchmarks/ask_latency.py: dense against hybrid, question by question
   in one run, and the ratio of their p50s.
4. results/SUMMARY.md: the tables, the commands, the machine and its load while measuring.

Each step runs in its own process, so one's memory or threads never skew the next.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
QA = [sys.executable, "-m", "qa"]
SHOWN = ("hit@1", "hit@10", "recall@10", "mrr@10", "ndcg@10", "map@10", "all@10")


# name: (dataset folder, split). Nothing here was fitted on (benchmarks/fit_answer.py fits on
# the tune halves and the tune sets only).
HELD_OUT = {
    "seed-test": (ROOT / "eval" / "seed-test", "all"),
    "seed-fresh": (ROOT / "eval" / "seed-fresh", "all"),
    "seed-dev-test": (ROOT / "eval" / "seed", "test"),
    "bbc-test": (ROOT / "eval" / "bbc-test", "all"),
    "bbc-fresh": (ROOT / "eval" / "bbc-fresh", "all"),
    "bbc-dev-test": (ROOT / "eval" / "bbc-dev", "test"),
    "seed-in-bbc": (ROOT / "eval" / "seed-in-bbc", "all"),
    "realtimeqa-test": (SHARED_EVAL / "realtimeqa", "test"),
}


def datasets() -> dict[str, tuple[Path, str]]:
    """The held-out sets whose data is here (the BBC and RealTime QA ones need ../shared)."""
    corpus = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
    found = {}
    for name, (folder, split) in HELD_OUT.items():
        needs_shared = name.startswith(("bbc", "seed-in", "realtimeqa"))
        if (folder / "queries.jsonl").is_file() or (folder / "dataset.json").is_file():
            if not needs_shared or corpus.is_file():
                found[name] = (folder, split)
    return found


def run(cmd: list[str]) -> float:
    """Run a step, its output passing through; its wall time in seconds."""
    shown = " ".join(str(c) for c in cmd).replace(sys.executable, "python")
    print(f"\n$ {shown}", flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    return time.perf_counter() - t


def eval_command(name: str, folder: Path, split: str, limit: int | None) -> list[str]:
    out = RESULTS / f"eval-{name}"
    # relative to the repository (steps run there), so reports name no machine's paths
    cmd = [*QA, "eval", os.path.relpath(folder, ROOT), "--mode", "dense,bm25,rrf,hybrid"]
    cmd += ["--split", split]
    cmd += ["--json", f"{out}.json", "--report", f"{out}.md", "--plot", f"{out}.png"]
    return cmd + (["--limit", str(limit)] if limit else [])


def summary(names: list[str]) -> str:
    lines = [
        "# Benchmark summary",
        "",
        f"Written by `python benchmarks/run_all.py` on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine slows "
        "the latency figures: compare them only between runs on a quiet machine).",
        "",
        "## Answers, held out (`qa eval`, every mode; hybrid is the default)",
        "",
        "Right: not abstained and the gold answer in the quotes (every fact, for a question over "
        "two articles). First quote right: of the answered single-article questions.",
        "",
        "| dataset | mode | answerable | right | single right | multi right | first quote "
        "right | answers (answerable) | unanswerable | abstains (unanswerable) | AURC |",
        "|---" * 11 + "|",
        *answer_rows(names),
        "",
        "## Retrieval (`qa eval`, every mode; hybrid is the default)",
        "",
        "| dataset | mode | queries | "
        + " | ".join(f"article {m}" for m in SHOWN)
        + " | evidence hit@10 | abstains (unanswerable) | answers (answerable) "
        "| answer holds gold | s per 1,000 queries |",
        "|---" * (len(SHOWN) + 8) + "|",
    ]
    for name, r in _results(names):
        art, ev = r["metrics"]["article"] or {}, r["metrics"]["evidence"] or {}
        cells = [_f(art.get(m)) for m in SHOWN] + [
            _f(ev.get("hit@10")),
            _f(r["abstention"]["null_abstain_rate"]),
            _f(r["abstention"]["answerable_answer_rate"]),
            _f(r["answer"]["answer_contains_gold"]),
            f"{r['run']['seconds_per_1000_queries']:.0f}",
        ]
        lines.append(f"| {name} | {r['mode']} | {r['n_queries']} | " + " | ".join(cells) + " |")
    lines += ["", "Per-dataset reports (by question type, worst queries): `eval-NAME.md`.", ""]
    build = _load("build_speed.json")
    if build:
        lines += [
            "## Build speed (BBC, 2,225 articles)",
            "",
            "| chunks | build s | bare model.encode s | ratio | chunks/s | keyword share |",
            "|---|---|---|---|---|---|",
            f"| {build['chunks']} | {build['build_seconds']} | {build['bare_encode_seconds']} | "
            f"{build['ratio_build_to_bare_encode']} | {build['chunks_per_second']} | "
            f"{build.get('keyword_share_of_build', '–')} |",
            "",
        ]
    lat = _load("latency.json")
    if lat:
        b, s = lat["bbc"], lat["synthetic"]
        lines += [
            "## Ask latency and memory (in-process, model loaded)",
            "",
            "| index | chunks | ask p50 ms | ask p95 ms |",
            "|---|---|---|---|",
            f"| BBC | {b['chunks']} | {b['ask_ms_p50']} | {b['ask_ms_p95']} |",
            f"| synthetic | {s['chunks']} | {s['ask_ms_p50']} | {s['ask_ms_p95']} |",
            "",
            f"Peak resident memory of a process that loads the BBC index and answers "
            f"{b['questions']} questions: {b['peak_rss_mib']} MiB (ru_maxrss). Load average "
            f"while measuring: {lat['load_average_1m']}.",
            "",
        ]
    modes = _load("ask_latency.json")
    if modes and "modes" in modes:
        lines += [
            "## Ask latency by mode (one interleaved run, BBC index)",
            "",
            "| mode | ask p50 ms | ask p95 ms | p50 ratio to dense |",
            "|---|---|---|---|",
            *(
                f"| {mode} | {m['ask_ms_p50']} | {m['ask_ms_p95']} | "
                f"{m.get('p50_ratio_to_dense', '–')} |"
                for mode, m in modes["modes"].items()
            ),
            "",
        ]
    return "\n".join(lines)


def _results(names: list[str]) -> list[tuple[str, dict]]:
    """(set name, one mode's result) for every available mode of every set evaluated."""
    out = []
    for name in names:
        path = RESULTS / f"eval-{name}.json"
        if path.is_file():
            results = json.loads(path.read_text())
            out += [(name, r) for r in (results if isinstance(results, list) else [results])]
    return [(name, r) for name, r in out if r.get("available")]


def answer_rows(names: list[str]) -> list[str]:
    rows = []
    for name, r in _results(names):
        a = r["answer"]
        cells = [str(a["n_answerable"]), _f(a["right"]), _f(a["single_right"])]
        cells += [_f(a["multi_right"]), _f(a["first_quote_right"])]
        cells += [_f(a["answerable_answer_rate"]), str(a["n_unanswerable"])]
        cells += [_f(a["null_abstain_rate"]), _f(a["aurc"])]
        rows.append(f"| {name} | {r['mode']} | " + " | ".join(cells) + " |")
    return rows


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--skip-build", action="store_true", help="keep build_speed.json")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--datasets", nargs="*", help="names to evaluate (default: all)")
    parser.add_argument("--limit", type=int, help="first N queries of each dataset")
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    found = datasets()
    names = args.datasets or list(found)
    unknown = set(names) - set(found)
    if unknown:
        sys.exit(f"Unknown dataset(s) {sorted(unknown)}: choose from {sorted(found)}.")
    timings = {}
    if not args.skip_eval:
        for name in names:
            timings[f"eval-{name}"] = run(eval_command(name, *found[name], args.limit))
    if not args.skip_build:
        timings["build_speed"] = run([sys.executable, "benchmarks/build_speed.py"])
    if not args.skip_latency:
        timings["latency"] = run([sys.executable, "benchmarks/latency.py"])
        timings["ask_latency"] = run([sys.executable, "benchmarks/ask_latency.py"])
    text = summary(list(found))
    (RESULTS / "SUMMARY.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "run_all.json").write_text(
        json.dumps({"step_seconds": {k: round(v, 1) for k, v in timings.items()}}, indent=2) + "\n"
    )
    print("\n" + text)


if __name__ == "__main__":
    main()
