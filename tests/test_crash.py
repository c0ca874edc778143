"""A build killed with SIGKILL at any moment leaves the previous index loading and answering."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import store
from qa.config import Settings
from qa.engine import Engine
from qa.indexing import build_index
from tests.conftest import SEEDS, write_bbc_subset

QUESTION = "How many people have been detained?"


def _start_build(corpus: Path, index: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "qa.cli", "index", "build", "--corpus", str(corpus)]
    return subprocess.Popen(
        [*cmd, "--index", str(index)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )


def _kill_after(proc: subprocess.Popen, seconds: float, index: Path, when_writing: bool) -> str:
    """SIGKILL after `seconds`, or as soon as the new generation's temp folder appears."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None:
        writing = any(p.name.startswith(".tmp-") for p in index.iterdir())
        if (when_writing and writing) or (not when_writing and time.monotonic() > deadline):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return "writing" if writing else "before writing"
        time.sleep(0.01)
    pytest.fail(f"the build finished before it could be killed: {proc.stderr.read()!r}")


@pytest.mark.slow
def test_killed_builds_leave_the_previous_index_working(tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=SEEDS, index=tmp_path / "index")
    build_index(settings, embedder)
    before = Engine.load(settings, embedder).ask(QUESTION)
    generation = store.current_generation(settings.index)
    bbc = write_bbc_subset(tmp_path / "bbc" / "corpus.jsonl", n=80)

    rng = random.Random(7)
    moments = [rng.uniform(2, 8), rng.uniform(8, 14), None]  # None: kill while writing
    for moment in moments:
        proc = _start_build(bbc.parent, settings.index)
        _kill_after(proc, moment or 0, settings.index, when_writing=moment is None)
        assert store.current_generation(settings.index) == generation
        after = Engine.load(settings, embedder).ask(QUESTION)
        assert after.to_json()["citations"] == before.to_json()["citations"]
        assert after.text == before.text

    proc = _start_build(bbc.parent, settings.index)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert store.current_generation(settings.index) != generation
    assert not [p for p in settings.index.iterdir() if p.name.startswith(".tmp-")]
    manifest = store.read_manifest(settings.index)
    assert manifest["counts"]["articles"] == 80
