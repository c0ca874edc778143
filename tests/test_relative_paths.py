"""Relative folders, as a user types them, from any working directory: every command, and
`make run` on a fresh copy of the checkout with no index (the newcomer's first command)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.index import store
from tests.conftest import ROOT

QUESTION = "How many people were detained?"
ENV = dict(os.environ)


def _qa(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "qa", *args]
    return subprocess.run(command, cwd=cwd, env=env or ENV, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_settings_make_every_folder_absolute_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"QA_INDEX": "idx", "QA_EVAL_CACHE": "c/../cache"})
    assert settings.index == tmp_path / "idx" and settings.corpus == tmp_path / "seeds"
    assert settings.eval_cache == tmp_path / "cache"
    assert settings.with_(corpus=Path("articles")).corpus == tmp_path / "articles"
    monkeypatch.chdir(ROOT)  # a later change of directory does not move them
    assert settings.index == tmp_path / "idx"


def test_save_into_a_relative_folder_keeps_the_sentences_written_as_it_went(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mapped sentence file compared by path string with a relative one was reopened for
    writing (truncated) under its own mapping: a Bus error at every relative build."""
    monkeypatch.chdir(tmp_path)
    tmp = store.start(Path("idx"))
    assert not tmp.is_absolute()
    mapped = store.sentence_file(tmp, 3, 4)
    mapped[:] = 0.5
    assert store._same_file(mapped.filename, tmp / store.SENTENCES)
    assert not store._same_file(mapped.filename, tmp / "other.npy")
    mapped.flush()
    assert np.load(tmp / store.SENTENCES).tolist() == [[0.5] * 4] * 3


def test_every_command_takes_relative_folders_from_another_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(ROOT / "seeds", work / "articles")
    shutil.copytree(ROOT / "eval" / "seed-test", work / "set")
    (work / "set" / "dataset.json").write_text(
        json.dumps({"name": "set", "corpus": str(ROOT / "eval" / "seed" / "corpus.jsonl")})
    )

    build = _qa(work, "index", "build", "--corpus", "articles", "--index", "idx")
    assert build.returncode == 0, build.stderr
    assert (work / "idx" / "CURRENT").is_file() and not list((work / "idx").glob(".tmp-*"))

    (work / "articles" / "extra.txt").write_text("A short note\n\nNothing happened today.\n")
    update = _qa(work, "index", "update", "--corpus", "articles", "--index", "idx")
    assert update.returncode == 0, update.stderr
    assert "1 added" in update.stdout

    info = _qa(work, "index", "info", "--verify", "--index", "idx")
    assert info.returncode == 0, info.stderr

    asked = _qa(work, "ask", "--json", "--index", "idx", QUESTION)
    assert asked.returncode == 0, asked.stderr
    assert "4,000" in json.loads(asked.stdout)["answer"]

    by_env = _qa(work, "ask", "--json", QUESTION, env=ENV | {"QA_INDEX": "idx"})
    assert by_env.returncode == 0 and json.loads(by_env.stdout)["citations"], by_env.stderr

    again = _qa(work, "index", "build", "--corpus", "articles", env=ENV | {"QA_INDEX": "idx2"})
    assert again.returncode == 0, again.stderr

    measured = _qa(work, "eval", "set", "--limit", "3", "--json", "out.json")  # default cache
    assert measured.returncode == 0, measured.stderr
    assert json.loads((work / "out.json").read_text())["n_queries"] == 3
    assert (work / ".cache" / "eval").is_dir()


def _tracked_copy(target: Path) -> Path:
    """The checkout as a fresh clone has it (tracked and new unignored files), without index."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_on_a_fresh_copy_builds_the_index_and_serves_a_cited_answer(
    tmp_path: Path,
) -> None:
    """The Makefile's own steps, with this test's environment standing in for `make install`
    (`-o` marks the install stamp as done; BIN points at the running interpreter's folder)."""
    from gradio_client import Client

    if shutil.which("make") is None:
        pytest.fail("make not found: apt-get install make")
    checkout = _tracked_copy(tmp_path / "checkout")
    assert not (checkout / "index" / "CURRENT").exists()
    port = _free_port()
    make = ["make", "-o", ".venv/.installed", f"BIN={Path(sys.executable).parent}"]
    env = {k: v for k, v in ENV.items() if not k.startswith("QA_")} | {"QA_PORT": str(port)}
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*make, "run"], cwd=checkout, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, f"make run exited {proc.returncode}:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"no answer on {url}:\n{log.read_text()}"
                time.sleep(0.5)
        assert (checkout / "index" / "CURRENT").is_file()
        history, _sources, _box = Client(url, verbose=False).predict(
            QUESTION, "hybrid", [], [], "", "", api_name="/ask"
        )
        shown = history[-1]["content"][0]["text"]
        assert "4,000" in shown and "[1]" in shown, shown
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
