"""The chat under load: many clients asking through the running server, then a soak.

    python benchmarks/load.py [--index DIR] [--clients 20] [--questions 25]
                              [--soak-clients 5] [--soak-seconds 600]

Starts `python app.py` on a free loopback port over the index (default: the `qa eval` cache of
BBC News), asks each question once alone through the API (`/ask`, what the chat's textbox
calls) for the reference answers, then has `--clients` clients ask `--questions` questions each
at once, every client with its own connection and its own order. Then `--soak-clients` clients
ask without pause for `--soak-seconds`, and the server's resident memory is read before and
after. Reports throughput, p50/p95, errors (goal 0) and answers that differ from asking alone
(goal 0). Writes `benchmarks/results/load.json` (or `--json`). Everything is bounded in time;
`QA_CONCURRENCY` set for this command is the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from gradio_client import Client

from qa.config import Settings
from qa.eval.datasets import load_dataset
from qa.eval.evaluation import cache_folder

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT / "eval" / "bbc-dev"
OPTIONS = ("hybrid", [], [], "", "")  # the Search options as the chat starts: no filters


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return -1


def _serve(index: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, QA_INDEX=str(index), QA_PORT=str(port))
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit(f"the server did not start:\n{log.read_text()}")


def _ask(client: Client, question: str) -> str:
    """The answer as the chat shows it, without its trace (whose timings differ every time)."""
    history, _sources, _box = client.predict(question, *OPTIONS, api_name="/ask")
    return history[-1]["content"][0]["text"].split('<details class="qa-trace">')[0]


def _burst(url: str, questions: list[str], reference: dict[str, str], clients: int) -> dict:
    """Every client asks every question once, starting at its own offset."""
    ms: list[float] = []
    errors: list[str] = []
    differ = 0
    lock = threading.Lock()

    def client_run(k: int) -> None:
        nonlocal differ
        client = Client(url, verbose=False)
        for q in questions[k % len(questions) :] + questions[: k % len(questions)]:
            t = time.perf_counter()
            try:
                text = _ask(client, q)
            except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            with lock:
                ms.append((time.perf_counter() - t) * 1000)
                differ += text != reference[q]

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    wall = time.perf_counter() - t
    return {
        "clients": clients,
        "answers": len(ms),
        "errors": len(errors),
        "error_examples": errors[:3],
        "differ_from_alone": differ,
        "answers_per_second": round(len(ms) / wall, 2),
        "p50_ms": round(float(np.median(ms)), 1) if ms else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if ms else None,
        "seconds": round(wall, 1),
    }


def _soak(url: str, questions: list[str], reference: dict[str, str], clients: int, seconds: float,
          pid: int) -> dict:  # fmt: skip
    stop = time.monotonic() + seconds
    counts = {"answers": 0, "errors": 0, "differ_from_alone": 0}
    lock = threading.Lock()

    def client_run(k: int) -> None:
        client = Client(url, verbose=False)
        n = k
        while time.monotonic() < stop:
            q = questions[n % len(questions)]
            n += 1
            try:
                same = _ask(client, q) == reference[q]
            except Exception:  # noqa: BLE001 - counted
                with lock:
                    counts["errors"] += 1
                continue
            with lock:
                counts["answers"] += 1
                counts["differ_from_alone"] += not same

    before = _rss_mb(pid)
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    return {"clients": clients, "seconds": seconds, **counts, "rss_before_mb": before,
            "rss_after_mb": _rss_mb(pid)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--soak-clients", type=int, default=5)
    parser.add_argument("--soak-seconds", type=float, default=600)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "load.json")
    args = parser.parse_args()
    dataset = load_dataset(BBC)
    index = args.index or cache_folder(Settings.from_env(), dataset)
    if not (index / "CURRENT").is_file():
        sys.exit(f"No index at {index}: run `qa eval {BBC}` first.")
    questions = list(dict.fromkeys(q.question for q in dataset.queries))[: args.questions]
    log = ROOT / ".cache" / "load-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc, url = _serve(index, log)
    try:
        alone = Client(url, verbose=False)
        reference = {q: _ask(alone, q) for q in questions}
        t = time.perf_counter()
        for q in questions:
            _ask(alone, q)
        alone_ms = (time.perf_counter() - t) * 1000 / len(questions)
        burst = _burst(url, questions, reference, args.clients)
        print(json.dumps(burst), flush=True)
        soak = _soak(url, questions, reference, args.soak_clients, args.soak_seconds, proc.pid)
        print(json.dumps(soak), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "index": index.name,
        "questions": len(questions),
        "concurrency": Settings.from_env().concurrency,
        "alone_mean_ms": round(alone_ms, 1),
        "burst": burst,
        "soak": soak,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
