"""Property-based tests (hypothesis): for arbitrary text, bytes, names and questions, reading
never raises, chunk offsets always hold, uploads stay in their folder and answers keep their
contract. They look for the next hostile input, not at one we already know."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import chunk_article, split_sentences
from qa.ingest.corpus import clean_text, read_file
from qa.ingest.library import add_files, safe_name

# Text that looks like articles and text that does not: every Unicode category, lone
# surrogates included (they reach us through JSON escapes), and newlines of every kind.
TEXT = st.text(st.characters(codec=None), max_size=400) | st.text(
    st.sampled_from(list("Ab .,;!?\n\r\t'\"-0123456789ÄéЖ中\u2028\u00a0")), max_size=400
)
SUFFIXES = st.sampled_from([".txt", ".md", ".html", ".json", ".jsonl"])
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


@QUICK
@given(data=st.binary(max_size=600), suffix=SUFFIXES)
def test_reading_any_bytes_never_raises(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"article{suffix}"
        path.write_bytes(data)
        articles, skipped = read_file(path, Path(tmp))
    assert articles or skipped  # always an answer: articles, or why there are none
    for article in articles:
        article.content_hash  # noqa: B018  (raises if the text cannot be written as UTF-8)
        assert article.text and article.text.encode("utf-8")


@QUICK
@given(title=TEXT, body=TEXT)
def test_cleaning_any_text_never_raises_and_is_stable(title: str, body: str) -> None:
    cleaned = clean_text(title, body)
    assert clean_text(title, cleaned) == cleaned  # cleaning what is clean changes nothing
    assert "\n\n\n" not in cleaned and cleaned == cleaned.strip()


@QUICK
@given(text=TEXT, budget=st.integers(1, 40), overlap=st.integers(0, 2))
def test_chunk_offsets_always_point_at_their_text_and_cover_it(
    text: str, budget: int, overlap: int
) -> None:
    chunks = chunk_article("a", text, words, budget, overlap)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert all(chunk.start <= s < e <= chunk.end for s, e in chunk.sentences)
    covered = {i for c in chunks for s, e in c.sentences for i in range(s, e)}
    for s, e in split_sentences(text):  # no word is lost (a long sentence is cut at spaces)
        assert {i for i in range(s, e) if not text[i].isspace()} <= covered


@QUICK
@given(name=st.text(max_size=80))
def test_an_upload_of_any_name_stays_in_the_folder(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder, source = Path(tmp) / "corpus", Path(tmp) / "upload.txt"
        source.write_text("Title\n\nA body sentence.", encoding="utf-8")
        added = add_files(folder, [(name, source)])
        stored = [Path(folder, s).resolve() for _, s in added.saved]
        assert all(p.parent == folder.resolve() and p.is_file() for p in stored)
        assert not [p for p in Path(tmp).iterdir() if p.name not in ("corpus", "upload.txt")]
        assert not any(part.startswith(".") for p in stored for part in p.name.split("/"))
    if safe := safe_name(name):
        assert "/" not in safe and "\\" not in safe and not safe.startswith(".")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(question=TEXT)
def test_any_question_gets_a_contract_answer_or_a_usage_error(seed_engine, question: str) -> None:
    from qa.errors import UsageError

    try:
        answer = seed_engine.ask(question)
    except UsageError as error:
        assert str(error)  # refused with a reason: empty, too long, not UTF-8
        return
    article = next(iter(seed_engine.index.data.articles.values()))
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}
    for c in answer.citations:
        assert c.quote in c.excerpt and c.excerpt in article.text


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
BATCH_LINE = TEXT.map(lambda t: t.replace("\n", " ").replace("\r", " ")) | st.fixed_dictionaries(
    {"question": TEXT | JSON_VALUE},
    optional={"history": st.lists(TEXT, max_size=6) | JSON_VALUE},
).map(lambda item: json.dumps(item))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(BATCH_LINE, min_size=1, max_size=6))
def test_any_batch_line_with_history_gets_one_answer_or_one_error(
    seed_settings, embedder, monkeypatch, lines: list[str]
) -> None:
    """`qa ask --json -` over lines of any text or any {"question", "history"} JSON: one
    output line per input line, in order, each an answer or an error naming its line."""
    from typer.testing import CliRunner

    from qa.embed.embedding import Embedder
    from qa.surfaces.cli import app

    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, *a, **k: embedder))
    stdin = "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")
    result = CliRunner().invoke(
        app, ["ask", "--json", "--index", str(seed_settings.index), "-"], input=stdin
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2)
    rows = [json.loads(row) for row in result.stdout.split("\n") if row]  # JSONL: \n only
    assert len(rows) == len(lines)
    for number, row in enumerate(rows, start=1):
        assert ("answer" in row) != ("error" in row)
        if "error" in row:
            assert row["line"] == number and row["error"]
