"""The product's own candidate sentences, to be labelled by reading: (question, sentence) pairs.

    python train/traces.py            # writes train/reader/traces/to-label-NN.jsonl

Each question of `train/reader/more/questions.jsonl` (tune articles the reader was not trained
on) is asked of the whole BBC index as the product asks it (hybrid retrieval, the reader on);
the sentences the reader reads (`compose.READ_TOP`) are written with their headline and the
sentence before them, and no score, so that whoever labels them reads only the articles. The
labels come back as `labels-NN.jsonl`: per question, the numbers of the candidates that answer
(`train/pairs.py` reads both).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.answer.compose import READ_TOP, compose  # noqa: E402
from qa.answer.engine import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.embed.embedding import Embedder  # noqa: E402
from qa.eval.datasets import load_dataset  # noqa: E402
from qa.eval.evaluation import ensure_index  # noqa: E402
from qa.ingest.chunking import split_sentences  # noqa: E402

HERE = ROOT / "train" / "reader"
OUT = HERE / "traces"
QUESTIONS = HERE / "more" / "questions.jsonl"
BATCHES = 8


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def before(text: str, sentence: str) -> str:
    """The sentence before `sentence` in its chunk's text; empty for the first."""
    spans = [text[s:e] for s, e in split_sentences(text)]
    for i, s in enumerate(spans):
        if sentence in s or s in sentence:
            return spans[i - 1] if i else ""
    return ""


def candidates(engine: Engine, question: str) -> list[dict]:
    """The sentences the reader reads for `question`, with what a reader of the article would
    see around them; shuffled (seeded by the question), so that their order tells nothing."""
    vector, hits = engine.search(question, engine.settings.top_k)
    answer = compose(question, vector, hits, engine.index, engine.policy)
    chunks = {h.chunk.chunk_id: h.chunk for h in hits}
    articles = engine.index.data.articles
    read = (answer.trace or {}).get("sentences", [])[:READ_TOP]
    random.Random(question).shuffle(read)
    found = []
    for n, s in enumerate(read, start=1):
        chunk = chunks[s["chunk_id"]]
        found.append(
            {
                "n": n,
                "article_id": chunk.article_id,
                "title": articles[chunk.article_id].title,
                "before": before(chunk.text, s["text"]),
                "sentence": s["text"],
            }
        )
    return found


def write_batches() -> None:
    embedder = Embedder.load(Settings().model)
    data = load_dataset(ROOT / "eval" / "bbc-tune", "all")
    cached, _ = ensure_index(Settings(), data, embedder)
    engine = Engine.load(cached.with_(reader=True), embedder)
    questions = read_jsonl(QUESTIONS)
    OUT.mkdir(exist_ok=True)
    files = [(OUT / f"to-label-{b:02d}.jsonl").open("w") for b in range(BATCHES)]
    for i, q in enumerate(questions):
        row = {
            "qid": q["id"],
            "question": q["question"],
            "candidates": candidates(engine, q["question"]),
        }
        files[i % BATCHES].write(json.dumps(row, ensure_ascii=False) + "\n")
    for f in files:
        f.close()


if __name__ == "__main__":
    write_batches()
