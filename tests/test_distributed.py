"""`--engine ray`: a local Ray with 2 CPUs embeds the seed and a slice of BBC exactly as the
in-process build does."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qa.answer.engine import Engine
from qa.config import Settings
from qa.index import store
from qa.index.indexing import build_index
from tests.conftest import SEEDS, write_bbc_subset

QUESTIONS = (
    "Who asked Russia for military help?",
    "How many people have been detained?",
    "What did the company report about its profits?",
)


@pytest.fixture(scope="module")
def ray_runtime():
    try:
        import ray
    except ImportError:
        pytest.fail(
            pytest.fail("Ray is not installed: `make test` installs the '.[distributed]' extra")
        )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_build_equals_the_local_build(ray_runtime, tmp_path, embedder) -> None:
    corpus = tmp_path / "corpus"
    write_bbc_subset(corpus / "bbc.jsonl", n=20)
    shutil.copy(next(SEEDS.iterdir()), corpus)
    local = Settings(corpus=corpus, index=tmp_path / "local")
    on_ray = local.with_(index=tmp_path / "ray", engine="ray")
    build_index(local, embedder)
    report = build_index(on_ray, embedder)  # joins the Ray the fixture started
    assert report.embedded == report.chunks > 20

    a, b = store.load(local.index, {}), store.load(on_ray.index, {})
    assert [c.chunk_id for c in a.data.chunks] == [c.chunk_id for c in b.data.chunks]
    np.testing.assert_allclose(a.data.vectors, b.data.vectors, atol=1e-5)
    np.testing.assert_allclose(
        np.asarray(a.data.sentence_vectors, np.float32),
        np.asarray(b.data.sentence_vectors, np.float32),
        atol=2e-3,  # both stored as float16
    )
    first, second = Engine.load(local, embedder), Engine.load(on_ray, embedder)
    for question in QUESTIONS:
        assert (
            first.ask(question).to_json()["citations"]
            == second.ask(question).to_json()["citations"]
        )
