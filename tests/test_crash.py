"""A build killed with SIGKILL at any moment leaves the previous index loading and answering.

Kill moments are tied to what the build is doing, not to wall-clock guesses, so the test holds
on a fast or a busy machine: during start-up, while it holds the writer lock (reading, chunking
or embedding), and while it writes the new generation's temporary folder.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.answer.engine import Engine
from qa.config import Settings
from qa.index import store
from qa.index.indexing import build_index
from tests.conftest import SEEDS, write_bbc_subset

QUESTION = "How many people have been detained?"


def start(command: str, corpus: Path, index: Path) -> subprocess.Popen:
    """`qa index build|update` in a subprocess, as a user would run it."""
    cmd = [sys.executable, "-m", "qa", "index", command, "--corpus", str(corpus)]
    return subprocess.Popen(
        [*cmd, "--index", str(index)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def holds_lock(proc: subprocess.Popen, index: Path) -> bool:
    """The process has taken the writer lock (its pid is in `.writer`)."""
    try:
        return (index / store.WRITER).read_text().split()[0] == str(proc.pid)
    except (OSError, IndexError):
        return False


def temp_folders(index: Path) -> set[str]:
    return {p.name for p in index.iterdir() if p.name.startswith(".tmp-")}


def kill_when(
    proc: subprocess.Popen, ready: Callable[[], bool], delay: float = 0.0
) -> float | None:
    """SIGKILL `delay` seconds after `ready()` first holds; the seconds since start, or None
    when the process ended first."""
    started = time.monotonic()
    while proc.poll() is None:
        if ready():
            deadline = time.monotonic() + delay
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return time.monotonic() - started
        time.sleep(0.005)
    return None


@pytest.mark.slow
def test_killed_builds_leave_the_previous_index_working(tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=SEEDS, index=tmp_path / "index")
    build_index(settings, embedder)
    before = Engine.load(settings, embedder).ask(QUESTION)
    generation = store.current_generation(settings.index)
    bbc = write_bbc_subset(tmp_path / "bbc" / "corpus.jsonl", n=80)

    rng = random.Random(7)
    index = settings.index
    kills = [
        ("build", lambda p: True, rng.uniform(0.3, 3.0)),  # start-up: imports, model load
        ("update", lambda p: holds_lock(p, index), rng.uniform(0.0, 2.0)),  # read/chunk/embed
        ("build", lambda p: bool(temp_folders(index) - leftovers), 0.0),  # half written
    ]
    for command, ready, delay in kills:
        leftovers = temp_folders(index)  # a killed run's, not the new run's own
        proc = start(command, bbc.parent, index)
        moment = kill_when(proc, lambda p=proc, r=ready: r(p), delay)
        assert moment is not None, f"{command} ended before the kill: {proc.stderr.read()!r}"
        assert store.current_generation(index) == generation
        after = Engine.load(settings, embedder).ask(QUESTION)
        assert after.to_json()["citations"] == before.to_json()["citations"]
        assert after.text == before.text

    proc = start("build", bbc.parent, index)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert store.current_generation(index) != generation
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")], "leftovers removed"
    manifest = store.read_manifest(index)
    assert manifest["counts"]["articles"] == 80
