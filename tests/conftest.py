"""Shared fixtures: isolated settings, the real model loaded once, small real indexes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qa.config import OFFLINE, Settings

os.environ.update(OFFLINE)  # the tests never reach a model hub, whatever the shell says

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's QA_* variables."""
    for key in list(os.environ):
        if key.startswith("QA_"):
            monkeypatch.delenv(key)


def bbc_lines() -> list[dict]:
    if not BBC.is_file():
        pytest.skip(f"BBC corpus not found at {BBC} (it lives in ../shared/corpora/bbc-news)")
    with open(BBC, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_bbc_subset(path: Path, ids: set[str] | None = None, n: int = 0) -> Path:
    """A JSONL corpus of the BBC articles named in `ids` plus the first `n` others."""
    rows = bbc_lines()
    picked = [r for r in rows if ids and r["id"] in ids]
    picked += [r for r in rows if not (ids and r["id"] in ids)][:n]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in picked:
            f.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="session")
def embedder():
    from qa.embed.embedding import Embedder

    # as the product loads it: questions through ONNX Runtime (exported once per machine)
    return Embedder.load(query_runtime="onnx", model_cache=Settings().model_cache)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:
    """A real index of the seed article, built once for the session."""
    from qa.index.indexing import build_index

    settings = Settings(corpus=SEEDS, index=tmp_path_factory.mktemp("seed-index"))
    build_index(settings, embedder)
    return settings


@pytest.fixture(scope="session")
def seed_engine(seed_settings: Settings, embedder):
    from qa.answer.engine import Engine

    return Engine.load(seed_settings, embedder)
