"""Hostile input and damaged indexes: every command answers with a message, never a traceback,
and nothing that worked before stops working."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qa.config import Settings
from qa.errors import IndexCorrupt, UsageError
from qa.surfaces.cli import app
from tests.conftest import SEEDS

runner = CliRunner()


@pytest.fixture
def fast_model(monkeypatch: pytest.MonkeyPatch, embedder) -> None:
    """The CLI loads the model itself; hand it the session's copy instead."""
    from qa.embed.embedding import Embedder

    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, *args, **kwargs: embedder))


@pytest.fixture
def seed_copy(seed_settings: Settings, tmp_path: Path) -> Path:
    """A copy of the session's seed index, free to damage."""
    copy = tmp_path / "index"
    shutil.copytree(seed_settings.index, copy)
    return copy


def _invoke(*args: str, stdin: bytes | str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def _clean_failure(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for word in words:
        assert word in result.output, result.output


# --- questions ---------------------------------------------------------------------------------


def test_questions_that_cannot_be_answered_are_usage_errors(seed_engine) -> None:
    from qa.answer.engine import MAX_QUESTION_CHARS

    with pytest.raises(UsageError, match="over the limit of 2,000"):
        seed_engine.ask("why " * (MAX_QUESTION_CHARS // 4 + 1))
    with pytest.raises(UsageError, match="not valid UTF-8"):
        seed_engine.ask("Who is \udcff?")  # what argv gives for a byte that is not UTF-8
    at_limit = ("What did Tokayev say? " * 100)[:MAX_QUESTION_CHARS]
    assert seed_engine.ask(at_limit).timings_ms["total"] > 0  # at the limit: answered


def test_a_bad_line_in_a_batch_gets_its_error_and_the_batch_goes_on(
    seed_copy: Path, fast_model
) -> None:
    lines = b"How many people were detained?\n\xff\xfe bad bytes\n" + b"q" * 3000 + b"\n"
    lines += b"Who did Tokayev ask for help?\n"
    result = _invoke("ask", "--json", "--index", str(seed_copy), "-", stdin=lines)
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("line") for r in rows] == [None, 2, 3, None]
    assert "4,000" in rows[0]["answer"] and not rows[0]["abstained"]
    assert "not valid UTF-8" in rows[1]["error"] and rows[1]["question"] is None
    assert "over the limit" in rows[2]["error"]
    assert rows[3]["question"] == "Who did Tokayev ask for help?" and "answer" in rows[3]
    assert "2 of the batch's lines" in result.stderr


def test_batch_errors_name_the_physical_line_and_blank_lines_get_one(
    seed_copy: Path, fast_model
) -> None:
    lines = b"\n\n" + b"q" * 3000 + b"\n   \nHow many people were detained?\n"
    lines += json.dumps({"question": "How old is he?", "history": ["Who is Tokayev?", 7]}).encode()
    result = _invoke("ask", "--json", "--index", str(seed_copy), "-", stdin=lines)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("line") for r in rows] == [1, 2, 3, 4, None, 6]
    assert "blank" in rows[0]["error"] and "blank" in rows[3]["error"]
    assert "over the limit" in rows[2]["error"]
    assert rows[5]["error"].startswith("History item 2 of 2 is not text")


@pytest.mark.parametrize(
    ("question", "error"),
    [("\x01\x02\x03", "is empty"), ("\x00\x00\x00", "is empty"), ("\x1b[31m\x1b[0m", "is empty")],
)
def test_a_question_of_control_characters_is_empty(seed_engine, question: str, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        seed_engine.ask(question)


def test_escape_sequences_never_reach_the_query_or_the_terminal(
    seed_copy: Path, fast_model
) -> None:
    asked = "\x1b[31mHow many people\x1b[0m were\x07 detained?\u202e"
    result = _invoke("ask", "--json", "--index", str(seed_copy), asked)
    row = json.loads(result.stdout)
    assert row["question"] == row["query"] == "How many people were detained?"
    shown = _invoke("ask", "--index", str(seed_copy), asked).output
    assert "\x1b" not in shown and "\x07" not in shown and "4,000" in shown


@pytest.mark.parametrize(
    ("history", "error"),
    [
        (["Who is Tokayev?", "x" * 1_000_000], "History item 2 of 2 is 1,000,000 characters"),
        (["Who is \udcff?"], "History item 1 of 1 is not valid UTF-8"),
        (["Who?"] * 199 + [""], "History item 200 of 200 is empty"),
        ("Who is Tokayev?", "The history is not a list"),
    ],
)
def test_a_bad_history_item_is_named_by_its_place(seed_engine, history, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        seed_engine.ask("How old is he?", history=history)


def test_a_long_history_is_read_through_its_last_turns(seed_engine) -> None:
    long = seed_engine.ask("How old is he?", history=["Who is Putin?"] * 196 + ["Who is Tokayev?"])
    short = seed_engine.ask("How old is he?", history=["Who is Tokayev?"])
    assert long.query == short.query and "Tokayev" in long.query


def test_mcp_tools_answer_any_argument_with_a_message(seed_engine) -> None:
    from qa.surfaces.tools import make_tools

    ask, search = make_tools(seed_engine)
    deep = "[" * 100_000 + "]" * 100_000
    assert "history must be a JSON list" in json.loads(ask("How old is he?", deep))["error"]
    many = json.dumps(["Who is Tokayev?"] * 200)
    assert "Tokayev" in json.loads(ask("How old is he?", many))["query"]
    named = json.loads(ask("How old is he?", json.dumps(["Who?", "x" * 5000])))["error"]
    assert named.startswith("History item 2 of 2 is 5,000 characters long")
    for k in ("abc", float("inf"), float("nan"), [1], 0, 51, "2.5", True, None):
        assert "ask for 1 to 50" in json.loads(search("Tokayev", k))["error"], k
    assert len(json.loads(search("Tokayev", "3"))) == 3
    assert len(json.loads(search("Tokayev", 2.0))) == 2


@pytest.mark.parametrize(
    ("variable", "value"),
    [("QA_TOP_K", "0"), ("QA_TOP_K", "-3"), ("QA_MAX_QUOTES", "0"), ("QA_PORT", "70000")],
)
def test_settings_no_command_can_use_are_refused(
    seed_copy: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = _invoke("ask", "--index", str(seed_copy), "How many were detained?")
    _clean_failure(result, 2, f"{variable}={value}")


def test_build_into_a_file_is_a_usage_error(tmp_path: Path, fast_model) -> None:
    target = tmp_path / "index-file"
    target.write_text("not a folder")
    result = _invoke("index", "build", "--corpus", str(SEEDS), "--index", str(target))
    _clean_failure(result, 2, "is a file, not an index folder")
    assert target.read_text() == "not a folder"


def test_serve_on_a_taken_port_says_so(seed_copy: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _invoke("serve", "--index", str(seed_copy), "--port", str(port))
    _clean_failure(result, 1, f"127.0.0.1:{port}", "--port")


# --- damaged indexes ---------------------------------------------------------------------------

CURRENT_DAMAGE = {
    "bad bytes": b"\xff\xfe\x00gen",
    "a NUL": b"gen-2026\x00x\n",
    "a path outside": b"../../other/gen-20260101T000000000000-abcdef\n",
    "an absolute path": b"/etc/gen-x\n",
}
MANIFEST_DAMAGE = {
    "not UTF-8": b"\xff\xfe{}",
    "a list": b"[1, 2, 3]",
    "a string": b'"manifest"',
    "files not a mapping": b'{"format": 1, "files": [1]}',
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("damage", CURRENT_DAMAGE, ids=list(CURRENT_DAMAGE))
def test_a_damaged_current_is_reported_and_rebuilt(seed_copy: Path, fast_model, damage) -> None:
    from qa.index import store

    (seed_copy / "CURRENT").write_bytes(CURRENT_DAMAGE[damage])
    with pytest.raises(IndexCorrupt, match="not a generation of this index"):
        store.current_name(seed_copy)
    for command in (["ask", "Who asked for help?"], ["index", "info"]):
        _clean_failure(_invoke(*command, "--index", str(seed_copy)), 1, "damaged", "qa index build")
    before = {p.name for p in seed_copy.glob("gen-*")}
    rebuilt = _invoke("index", "build", "--corpus", str(SEEDS), "--index", str(seed_copy))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert before <= {p.name for p in seed_copy.glob("gen-*")}  # nothing lost on the way
    asked = _invoke("ask", "--json", "--index", str(seed_copy), "How many were detained?")
    assert asked.exit_code == 0 and "4,000" in json.loads(asked.stdout)["answer"]


@pytest.mark.parametrize("damage", MANIFEST_DAMAGE, ids=list(MANIFEST_DAMAGE))
def test_a_damaged_manifest_is_reported_and_updated_in_full(
    seed_copy: Path, fast_model, damage
) -> None:
    gen = (seed_copy / "CURRENT").read_text().strip()
    (seed_copy / gen / "manifest.json").write_bytes(MANIFEST_DAMAGE[damage])
    for command in (["ask", "Who asked for help?"], ["index", "info"]):
        _clean_failure(_invoke(*command, "--index", str(seed_copy)), 1, "damaged", "manifest")
    updated = _invoke("index", "update", "--corpus", str(SEEDS), "--index", str(seed_copy))
    assert updated.exit_code == 0, updated.output
    assert _invoke("ask", "--index", str(seed_copy), "How many were detained?").exit_code == 0


FIELD_DAMAGE = {
    "an empty object": ({}, "'format' is missing"),
    "faiss a list": ({"faiss": [1]}, "'faiss' is not"),
    "counts text": ({"counts": "x"}, "'counts' is not"),
    "chunking text": ({"chunking": "x"}, "'chunking' is not"),
    "a file outside": ({"files": {"../../etc/passwd": 1}}, "'files' is not"),
}


def _rewrite_manifest(index: Path, fields: dict) -> None:
    """Set fields of the current manifest; an empty `fields` empties the whole manifest."""
    gen = index / (index / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text()) if fields else {}
    (gen / "manifest.json").write_text(json.dumps(manifest | fields))


@pytest.mark.parametrize("damage", FIELD_DAMAGE, ids=list(FIELD_DAMAGE))
def test_manifest_fields_of_the_wrong_kind_are_named_by_every_command(
    seed_copy: Path, damage: str
) -> None:
    change, named = FIELD_DAMAGE[damage]
    _rewrite_manifest(seed_copy, change)
    for command in (["index", "info"], ["index", "info", "--verify"], ["ask", "Who?"]):
        _clean_failure(_invoke(*command, "--index", str(seed_copy)), 1, named, "qa index build")


@pytest.mark.parametrize(
    ("replace", "named"),
    [
        ({"model": "another-model"}, "model is 'another-model'"),
        ({"dimension": 512}, "manifest says 512"),
        ({"checksums": {}}, "no checksum is kept"),
    ],
)
def test_verify_refuses_what_load_refuses_or_cannot_check(
    seed_copy: Path, replace: dict, named: str
) -> None:
    _rewrite_manifest(seed_copy, replace)
    verified = _invoke("index", "info", "--verify", "--index", str(seed_copy))
    _clean_failure(verified, 1, named, "qa index build")


def test_an_emptied_file_list_with_garbled_vectors_is_refused(seed_copy: Path) -> None:
    """With nothing listed there is nothing to check against: both refuse, neither answers."""
    _rewrite_manifest(seed_copy, {"files": {}, "checksums": {}})
    gen = seed_copy / (seed_copy / "CURRENT").read_text().strip()
    _damage(gen / "sentences.npy", "same-size garbage")
    for command in (["index", "info", "--verify"], ["ask", "How many were detained?"]):
        _clean_failure(_invoke(*command, "--index", str(seed_copy)), 1, "not in the manifest")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),  # fmt: skip
    max_leaves=8,
)


def test_any_json_in_any_manifest_field_gets_a_message_never_a_traceback(
    seed_settings: Settings,
) -> None:
    """`qa index info`, `--verify` and load, over a manifest with one field (or a nested part of
    one) replaced by any JSON value: each answers, or refuses with one line naming the fix."""
    import tempfile

    from qa.errors import QAError
    from qa.index import store
    from qa.index.indexing import manifest_expectations

    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        shutil.copytree(seed_settings.index, index)
        gen = index / (index / "CURRENT").read_text().strip()
        sound = json.loads((gen / "manifest.json").read_text())
        expect = manifest_expectations(seed_settings)

        @hypothesis_settings(max_examples=120, deadline=None)
        @given(field=st.sampled_from(sorted(sound) + ["unknown"]), nested=st.booleans(), value=JSON)
        def check(field: str, nested: bool, value: object) -> None:
            manifest = json.loads(json.dumps(sound))
            inner = manifest.get(field)
            if nested and isinstance(inner, dict) and inner:
                inner[sorted(inner)[0]] = value
            else:
                manifest[field] = value
            (gen / "manifest.json").write_text(json.dumps(manifest))
            for command in (["index", "info"], ["index", "info", "--verify"]):
                result = _invoke(*command, "--index", str(index))
                assert result.exit_code in (0, 1), result.output
                assert result.exception is None or isinstance(result.exception, SystemExit)
                if result.exit_code:
                    assert result.output.startswith("error: ") and "qa index" in result.output
            try:
                store.load(index, expect)
            except QAError as error:
                assert "qa index build" in str(error)

        check()


def test_a_running_engine_keeps_answering_when_current_goes_bad(seed_copy: Path, embedder) -> None:
    from qa.answer.engine import Engine

    engine = Engine.load(Settings(corpus=SEEDS, index=seed_copy), embedder)
    (seed_copy / "CURRENT").write_bytes(b"\xff\x00")
    answer = engine.ask("How many people were detained?")
    assert "4,000" in answer.text and "not a generation" in (engine.problem or "")


# --- a corpus of hostile files, end to end ---------------------------------------------------


def test_a_corpus_of_hostile_files_builds_and_answers(tmp_path: Path, fast_model) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    (corpus / "surrogate.jsonl").write_text(
        '{"id": "s\\ud800", "title": "Lone \\udfff", "text": "A lone surrogate \\ud800 here."}\n'
    )
    (corpus / "deep.json").write_text("[" * 3000 + "]" * 3000)
    with open(os.fsencode(str(corpus)) + b"/latin\xe9.txt", "wb") as f:
        f.write(b"Latin-1 name\n\nThe file name is not UTF-8.")
    (corpus / "wide.txt").write_bytes(
        "Wide title\n\nSaved as UTF-16 by an editor.".encode("utf-16")
    )
    built = _invoke("index", "build", "--corpus", str(corpus), "--index", str(index))
    assert built.exit_code == 0, built.output
    assert "Indexed 3 articles" in built.output and "2 skipped" in built.output
    assert "latin\\xe9.txt" in built.output and "nested too deeply" in built.output
    info = _invoke("index", "info", "--index", str(index))
    assert info.exit_code == 0, info.output
    updated = _invoke("index", "update", "--index", str(index), "--corpus", str(corpus))
    assert updated.exit_code == 0 and "up to date" in updated.output, updated.output
    asked = _invoke("ask", "--json", "--index", str(index), "What was saved as UTF-16?")
    assert asked.exit_code == 0 and "UTF-16" in json.loads(asked.stdout)["answer"]


def test_two_articles_with_one_id_are_both_indexed(tmp_path: Path, fast_model) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    (corpus / "brief.md").write_text("Markets\n\nThe central bank raised its rate to 7.5%.")
    (corpus / "brief.txt").write_text("Weather\n\nA storm closed the harbour for two days.")
    built = _invoke("index", "build", "--corpus", str(corpus), "--index", str(index))
    assert built.exit_code == 0, built.output
    assert "renamed brief.txt: id brief is taken by brief.md: indexed as brief~2" in built.output
    assert "1 renamed" in built.output
    asked = _invoke("ask", "--json", "--index", str(index), "What closed the harbour?")
    answer = json.loads(asked.stdout)
    assert answer["citations"][0]["article_id"] == "brief~2", answer
    again = _invoke("index", "update", "--corpus", str(corpus), "--index", str(index))
    assert again.exit_code == 0 and "up to date" in again.output, again.output


# --- every file of a generation, damaged every way ---------------------------------------------

FILES = (
    "vectors.faiss", "chunks.sqlite", "articles.jsonl", "sentences.npy",
    "bm25/tokens.npy", "bm25/data.csc.index.npy", "bm25/vocab.index.json",
)  # fmt: skip


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "deleted":
        path.unlink()
    else:  # same size, other bytes: only a checksum can tell
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64])
                         + data[middle + 64 :])  # fmt: skip


@pytest.mark.parametrize("how", ["truncated", "emptied", "deleted", "same-size garbage"])
@pytest.mark.parametrize("name", FILES)
def test_each_damaged_file_is_caught_by_ask_and_verify(
    seed_copy: Path, name: str, how: str
) -> None:
    gen = seed_copy / (seed_copy / "CURRENT").read_text().strip()
    assert name in json.loads((gen / "manifest.json").read_text())["checksums"]
    _damage(gen / name, how)
    asked = _invoke("ask", "--index", str(seed_copy), "How many were detained?")
    _clean_failure(asked, 1, "damaged", "qa index build")
    verified = _invoke("index", "info", "--verify", "--index", str(seed_copy))
    _clean_failure(verified, 1, name)


HOWS = ("truncated", "emptied", "deleted", "same-size garbage")


def _damaged_generation(seed_copy: Path, name: str, how: str) -> str:
    """A copy of the current generation with one file damaged, made current; the good one."""
    good = (seed_copy / "CURRENT").read_text().strip()
    shutil.copytree(seed_copy / good, seed_copy / "gen-damaged")
    _damage(seed_copy / "gen-damaged" / name, how)
    (seed_copy / "CURRENT").write_text("gen-damaged\n")
    return good


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_new_generation_leaves_the_chat_answering(
    seed_copy: Path, embedder, name: str, how: str
) -> None:
    """What a running chat sees when a build's generation is damaged after it was written."""
    from qa.answer.engine import Engine

    engine = Engine.load(Settings(corpus=SEEDS, index=seed_copy), embedder)
    good = _damaged_generation(seed_copy, name, how)
    answer = engine.ask("How many people were detained?")
    assert "4,000" in answer.text and engine.index.folder.name == good
    assert "damaged" in (engine.problem or ""), engine.problem


@pytest.mark.parametrize(("name", "how"), list(zip(FILES, HOWS * 2, strict=False)))
def test_an_update_repairs_a_damaged_generation_and_the_chat_follows(
    seed_copy: Path, fast_model, embedder, name: str, how: str
) -> None:
    """Each file once, the kinds of damage in turn (all 28 pairs are refused above)."""
    from qa.answer.engine import Engine

    engine = Engine.load(Settings(corpus=SEEDS, index=seed_copy), embedder)
    good = _damaged_generation(seed_copy, name, how)
    engine.ask("How many people were detained?")
    updated = _invoke("index", "update", "--corpus", str(SEEDS), "--index", str(seed_copy))
    assert updated.exit_code == 0, updated.output
    assert _invoke("index", "info", "--verify", "--index", str(seed_copy)).exit_code == 0
    assert "4,000" in engine.ask("How many people were detained?").text
    assert engine.problem is None and engine.index.folder.name not in {good, "gen-damaged"}


def test_verify_passes_on_a_sound_index_and_a_rebuild_repairs_garbage(
    seed_copy: Path, fast_model
) -> None:
    ok = _invoke("index", "info", "--verify", "--index", str(seed_copy))
    assert ok.exit_code == 0 and "match their sizes and SHA-256" in ok.output, ok.output
    gen = seed_copy / (seed_copy / "CURRENT").read_text().strip()
    _damage(gen / "sentences.npy", "same-size garbage")
    rebuilt = _invoke("index", "build", "--corpus", str(SEEDS), "--index", str(seed_copy))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _invoke("index", "info", "--verify", "--index", str(seed_copy)).exit_code == 0


# --- who may use it ----------------------------------------------------------------------------


def test_logins_from_the_variable_or_a_file(tmp_path: Path) -> None:
    from qa.config import Settings, logins

    assert logins("") == []
    assert logins("ann:s3cret, bob:pa:ss") == [("ann", "s3cret"), ("bob", "pa:ss")]
    written = tmp_path / "logins"
    written.write_text("ann:one\n\ncarl:two\n", encoding="utf-8")
    assert logins(str(written)) == [("ann", "one"), ("carl", "two")]
    assert Settings(auth=str(written)).logins() == [("ann", "one"), ("carl", "two")]
    for bad in ("ann", "ann:", ":pw", " , "):
        with pytest.raises(UsageError, match="QA_AUTH"):
            logins(bad)


def test_a_login_guards_the_chat_and_its_api(seed_copy: Path, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    from tests.conftest import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, QA_INDEX=str(seed_copy), QA_PORT=str(port), QA_AUTH="ann:s3cret")
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def status(path: str, data: dict | None = None, cookie: str = "") -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers={"Cookie": cookie})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                cookies = response.headers.get_all("Set-Cookie") or []
                return response.status, "; ".join(c.split(";")[0] for c in cookies)
        except urllib.error.HTTPError as error:
            return error.code, ""

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(base + "/gradio_api/login_check", timeout=2)
            except urllib.error.HTTPError:
                break  # up, and asking for a login
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        assert status("/gradio_api/login_check")[0] == 401
        assert status("/config")[0] == 401  # the app's description, behind the login too
        assert status("/gradio_api/info")[0] == 401  # and the API
        for route in ("/gradio_api/cancel", "/gradio_api/reset"):  # Gradio leaves these open
            assert status(route, {"event_id": "x", "session_hash": "y", "fn_index": 0})[0] == 401
        assert status("/login", {"username": "ann", "password": "wrong"})[0] >= 400
        code, cookie = status("/login", {"username": "ann", "password": "s3cret"})
        assert code == 200 and "access-token" in cookie
        assert status("/gradio_api/login_check", cookie=cookie)[0] == 200
        assert status("/config", cookie=cookie)[0] == 200
        assert status("/gradio_api/info", cookie=cookie)[0] == 200
        assert status("/gradio_api/reset", {"event_id": "x"}, cookie=cookie)[0] != 401
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_serving_beyond_loopback_without_a_login_warns() -> None:
    from qa.surfaces.ui import access

    assert access(Settings()) == (None, None)  # loopback: nobody else can reach it
    logins, warning = access(Settings(host="0.0.0.0"))
    assert logins is None and "without a login" in warning and "QA_AUTH" in warning
    assert access(Settings(host="0.0.0.0", auth="ann:pw")) == ([("ann", "pw")], None)
