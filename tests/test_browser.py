"""A real Chromium drives the real app (`python app.py`) over a real index of the seed corpus.

The app serves a private copy of seeds/, so the upload test never writes into the repository.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Read at import: the autouse fixture clears QA_* variables before each test runs.
UPDATE_SCREENSHOT = bool(os.environ.get("QA_UPDATE_SCREENSHOT"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
START_TIMEOUT_S = 90
ANSWER_TIMEOUT_MS = 60_000

DETAINED = "How many people have been detained?"
UNANSWERABLE = "What is the boiling point of water in Fahrenheit?"  # off the topic: none
UNSURE = "Who won the 2022 FIFA World Cup?"  # on the topic, not answered: the closest
TITLE = "Kazakhstan president vows to kill"
NOT_FOUND = "I could not find this in the articles"
CLOSEST = "The articles may not answer this; the closest they come"
CLOSEST_HEADING = "The closest the articles come (may not answer)"
NOTHING_CLOSE = "No passage of the articles is on this topic."
PENDING = "Looking through the articles"

BOT = "#qa-chat [data-testid='bot']"
USER = "#qa-chat [data-testid='user']"


@dataclass(frozen=True)
class App:
    url: str
    tmp: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def _environment(index: Path, corpus: Path = ROOT / "seeds") -> dict[str, str]:
    return {
        **os.environ,
        "QA_CORPUS": str(corpus),
        "QA_INDEX": str(index),
    }


@contextmanager
def _serving(index: Path, log_path: Path, corpus: Path = ROOT / "seeds") -> Iterator[str]:
    """Run `python app.py` on a free port until its page answers 200; its URL. Stops it after."""
    port = _free_port()
    env = _environment(index, corpus) | {"QA_HOST": "127.0.0.1", "QA_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers_200(url):
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"app.py did not answer within {START_TIMEOUT_S} s:\n{log_path.read_text()}"
                )
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """Build an index of a copy of seeds/ with the CLI and serve it with `python app.py`."""
    tmp = tmp_path_factory.mktemp("browser")
    index, corpus = tmp / "index", tmp / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    command = [sys.executable, "-m", "qa", "index", "build"]
    command += ["--corpus", str(corpus), "--index", str(index)]
    env = _environment(index, corpus)
    build = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"`qa index build` failed ({build.returncode}):\n{build.stderr}")
    with _serving(index, tmp / "server.log", corpus) as url:
        yield App(url, tmp)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(app: App, browser: Browser) -> Iterator[Page]:
    """A fresh page, hence a fresh Gradio session, with the chat loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    page.goto(app.url)
    page.locator("#qa-question textarea").wait_for()
    yield page
    context.close()


def ask(page: Page, question: str) -> str:
    """Type a question, press Send, wait for its answer; the answer's text."""
    before = page.locator(BOT).count()
    page.locator("#qa-question textarea").fill(question)
    page.locator("#qa-send").click()
    return answer_after(page, before)


def answer_after(page: Page, before: int) -> str:
    """The text of answer number `before` (0-based) once it has streamed in whole."""
    page.wait_for_function(
        "([sel, n, pending]) => { const bots = document.querySelectorAll(sel);"
        " return bots.length > n && !bots[n].innerText.includes(pending)"
        " && !bots[n].querySelector('.qa-pending'); }",
        arg=[BOT, before, PENDING],
    )
    return page.locator(BOT).nth(before).inner_text()


def sources(page: Page) -> Locator:
    return page.locator("#qa-sources")


def test_answer_cites_the_article_and_highlights_the_quote(page: Page) -> None:
    answer = ask(page, DETAINED)
    assert "4,000" in answer
    assert "[1]" in answer

    panel = sources(page)
    panel.locator("mark").first.wait_for()
    assert TITLE in panel.inner_text()
    marks = panel.locator("mark").all_inner_texts()
    excerpts = panel.locator(".qa-excerpt").all_inner_texts()
    hits = [m for m in marks if "4,000" in m]
    assert hits, f"no highlighted sentence mentions 4,000: {marks}"
    assert any(hits[0] in excerpt for excerpt in excerpts)
    # The highlight sits in the card numbered [1], the one the answer cites.
    first_card = panel.locator(".qa-card[data-n='1']")
    assert "4,000" in first_card.locator(".qa-excerpt mark").inner_text()


def test_an_off_topic_question_says_not_found_and_cites_nothing(page: Page) -> None:
    answer = ask(page, UNANSWERABLE)
    assert NOT_FOUND in answer
    assert "[1]" not in answer
    assert NOTHING_CLOSE in sources(page).inner_text()
    assert sources(page).locator(".qa-card").count() == 0


def test_an_unsure_answer_quotes_the_closest_sentences_marked_as_such(page: Page) -> None:
    answer = ask(page, UNSURE)
    assert answer.startswith(CLOSEST) and "[1]" in answer
    panel = sources(page)
    assert CLOSEST_HEADING in panel.inner_text()
    assert panel.locator(".qa-card.qa-closest").count() >= 1


def test_a_second_question_replaces_the_sources(page: Page) -> None:
    ask(page, DETAINED)
    panel = sources(page)
    assert NOTHING_CLOSE not in panel.inner_text()
    assert panel.locator(".qa-card:not(.qa-closest)").count() >= 1

    ask(page, UNANSWERABLE)
    panel.get_by_text(NOTHING_CLOSE).wait_for()
    # None of the first answer's citation cards is left over.
    assert panel.locator(".qa-card").count() == 0
    assert page.locator(USER).all_inner_texts() == [DETAINED, UNANSWERABLE]

    ask(page, DETAINED)  # and back: the citations return
    assert NOTHING_CLOSE not in panel.inner_text()
    assert "4,000" in panel.locator(".qa-card[data-n='1'] .qa-excerpt mark").inner_text()


def test_clicking_an_example_asks_it(page: Page) -> None:
    example = page.locator("#qa-examples button").first
    example.wait_for()
    example.click()
    answer_after(page, 0)
    asked = page.locator(USER).first.inner_text()
    assert asked.strip()
    assert "appear here" not in sources(page).inner_text()


def test_markup_typed_into_the_chat_is_shown_as_text(page: Page) -> None:
    attack = '<img src=x onerror="window.__pwned = 1">What about <b>this</b>?'
    ask(page, attack)
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("#qa-chat img[src='x']").count() == 0
    assert page.locator(USER).last.inner_text() == attack


def test_empty_question_gets_a_prompt(page: Page) -> None:
    answer = ask(page, "   ")
    assert "Please type a question" in answer


def test_without_an_index_the_page_says_how_to_build_one(browser: Browser, tmp_path: Path) -> None:
    empty = tmp_path / "no-index"
    empty.mkdir()
    with _serving(empty, tmp_path / "server.log") as url:
        page = browser.new_page()
        try:
            page.goto(url)
            problem = page.locator("#qa-problem")
            problem.wait_for(timeout=ANSWER_TIMEOUT_MS)
            assert "qa index build" in problem.inner_text()
            assert page.locator("#qa-question").count() == 0
        finally:
            page.close()


NONSENSE = "zqxv wibblefrob?"  # no word of it is in the seed article
FILTERS_SINCE_2100 = "Filters active: since 2100-01-01"


def test_search_options_reach_the_engine(page: Page) -> None:
    """The mode and a date filter picked under Search options change what the engine finds."""
    options = page.locator("#qa-options")
    mode = page.locator("#qa-mode")
    assert not mode.is_visible(), "Search options start collapsed"
    options.get_by_text("Search options").click()
    assert mode.get_by_label("hybrid: meaning + keywords (recommended)").is_checked()
    # One article with no source, category or date: nothing to pick from those lists.
    assert (
        page.locator("#qa-categories-filter").count() == 0
        or not page.locator("#qa-categories-filter").is_visible()
    )
    assert "no article in this index has a date" in options.inner_text()

    # A question of made-up words is off every topic, by meaning and by keywords alike.
    assert NOT_FOUND in ask(page, NONSENSE)
    assert sources(page).locator(".qa-card").count() == 0
    mode.get_by_label("bm25: keywords only").check()
    assert NOT_FOUND in ask(page, NONSENSE)
    panel = sources(page)
    assert NOTHING_CLOSE in panel.inner_text()
    assert panel.locator(".qa-card").count() == 0
    answer = ask(page, DETAINED)  # and keywords alone still find the answer
    assert "4,000" in answer and "[1]" in answer

    page.locator("#qa-since textarea, #qa-since input").first.fill("2100-01-01")
    answer = ask(page, DETAINED)
    assert NOT_FOUND in answer and FILTERS_SINCE_2100 in answer
    assert FILTERS_SINCE_2100 in panel.locator(".qa-filters").inner_text()
    assert "4,000" not in panel.inner_text()

    page.locator("#qa-examples button").first.click()  # an example is asked with the filter too
    assert FILTERS_SINCE_2100 in answer_after(page, 4)

    page.locator("#qa-since textarea, #qa-since input").first.fill("01/02/2005")
    answer = ask(page, DETAINED)
    assert "since='01/02/2005' is not a date: write it as YYYY-MM-DD" in answer
    assert "Traceback" not in page.locator("body").inner_text()
    assert page.locator(USER).last.inner_text() == DETAINED


LANTERNS_FILE = (
    "Tallinn lantern festival\n\nThe city of Tallinn lit 4,321 paper lanterns on Friday "
)
LANTERNS_FILE += "night to open its winter festival.\n\nThe organisers said the lanterns were made "
LANTERNS_FILE += "by schoolchildren over three months.\n"
LANTERNS_QUESTION = "How many paper lanterns did Tallinn light?"


def _wait_for_value(page: Page, selector: str, text: str) -> str:
    """Wait until the textbox at `selector` holds `text`; its whole value."""
    page.wait_for_function(
        "([sel, text]) => { const e = document.querySelector(sel);"
        " return e && e.value.includes(text); }",
        arg=[selector, text],
    )
    return page.locator(selector).input_value()


def test_upload_update_and_ask_cites_the_new_article(app: App, page: Page) -> None:
    """Runs last: it adds an article to the app's corpus and index."""
    assert "4,321" not in ask(page, LANTERNS_QUESTION)
    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#qa-lib-table")
    table.get_by_text(TITLE).filter(visible=True).first.wait_for()

    (app.tmp / "lanterns.txt").write_text(LANTERNS_FILE, encoding="utf-8")
    page.locator("#qa-upload input[type=file]").set_input_files(str(app.tmp / "lanterns.txt"))
    summary = "#qa-lib-summary textarea"
    said = _wait_for_value(page, summary, "added lanterns.txt")
    assert "Press Update index" in said
    status = page.locator("#qa-lib-status")
    status.get_by_text("1 article changed since the index was built").wait_for()

    page.locator("#qa-update").click()
    said = _wait_for_value(page, summary, "Update: 1 added, 0 changed, 0 removed, 1 unchanged")
    assert "embedded" in said and "reused" in said
    row = table.get_by_text("Tallinn lantern festival").filter(visible=True).first
    row.wait_for()
    assert "changed since" not in status.inner_text()
    row.click()  # picking a row fills the id to remove
    assert _wait_for_value(page, "#qa-remove-id textarea", "lanterns") == "lanterns"

    page.get_by_role("tab", name="Chat").click()
    answer = ask(page, LANTERNS_QUESTION)
    assert "4,321" in answer and "[1]" in answer
    panel = sources(page)
    assert "Tallinn lantern festival" in panel.locator(".qa-card[data-n='1']").inner_text()
    assert "4,321" in panel.locator(".qa-card[data-n='1'] .qa-excerpt mark").inner_text()
    assert "4,000" in ask(page, DETAINED), "the seed article still answers"


# --- conversations, the article viewer, streaming ------------------------------------------

OPENER = "What did Kazakhstan President Tokayev say his forces would do?"
FOLLOW_UP = "Which foreign leader did he ask for military assistance?"


def test_a_follow_up_is_read_with_the_conversation_until_a_new_one(app: App, page: Page) -> None:
    ask(page, OPENER)
    answer = ask(page, FOLLOW_UP)
    assert "Putin" in answer and "Searched for:" in answer
    sources(page).locator(".qa-card[data-n='1'] details.qa-article > summary").click()
    sources(page).locator(".qa-article-body mark.qa-here").first.wait_for()
    shot = page.screenshot(full_page=True)
    (app.tmp / "screenshot.png").write_bytes(shot)
    if UPDATE_SCREENSHOT:  # refresh the README's picture on request only
        (ROOT / "docs" / "screenshot.png").write_bytes(shot)
    page.locator("#qa-clear").click()
    page.wait_for_function("(sel) => document.querySelectorAll(sel).length === 0", arg=BOT)
    alone = ask(page, FOLLOW_UP)  # the same words with no conversation behind them
    assert "Searched for:" not in alone


def test_opening_a_source_shows_the_whole_article_with_the_quote_in_view(page: Page) -> None:
    ask(page, DETAINED)
    card = sources(page).locator(".qa-card[data-n='1']")
    quote = card.locator(".qa-excerpt mark").inner_text()
    card.locator("details.qa-article > summary").click()
    body = card.locator(".qa-article-body")
    body.wait_for(state="visible")
    here = body.locator("mark.qa-here")
    assert here.inner_text() == quote
    assert "CSTO" in body.inner_text()  # the whole article, not just the excerpt
    page.wait_for_function(
        "() => { const box = document.querySelector('#qa-sources .qa-article-body');"
        " const mark = box.querySelector('mark.qa-here'); const a = box.getBoundingClientRect();"
        " const b = mark.getBoundingClientRect(); return b.top >= a.top && b.bottom <= a.bottom; }"
    )


def test_the_answer_streams_in_before_it_is_whole(page: Page) -> None:
    page.evaluate(
        """() => { window.__seen = [];
        new MutationObserver(() => { const bots = document.querySelectorAll(
            "#qa-chat [data-testid='bot']");
            if (bots.length) window.__seen.push(bots[bots.length - 1].innerText); })
        .observe(document.querySelector('#qa-chat'), {subtree: true, childList: true,
                 characterData: true}); }"""
    )
    answer = ask(page, DETAINED)
    seen = page.evaluate("window.__seen")
    assert any(PENDING in text for text in seen), seen[:5]  # shown while it was still coming
    assert PENDING not in answer and "4,000" in answer


def test_each_answer_keeps_its_sources_and_a_trace_in_the_chat(page: Page) -> None:
    ask(page, DETAINED)
    ask(page, UNANSWERABLE)
    first = page.locator(BOT).nth(0)
    first.locator("details.qa-turn-sources > summary").click()
    assert "4,000" in first.locator("details.qa-turn-sources mark").first.inner_text()
    first.locator("details.qa-trace > summary").click()
    trace = first.locator("details.qa-trace")
    assert "fused" in trace.inner_text() and "against the threshold" in trace.inner_text()


def test_a_made_up_citation_from_the_language_model_never_reaches_the_page(
    app: App, browser: Browser, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "llm_server.py"), str(port)])
    monkeypatch.setenv("QA_LLM_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("QA_LLM_MODEL", "made-up-citation")
    try:
        with _serving(app.tmp / "index", tmp_path / "llm.log", app.tmp / "corpus") as url:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(ANSWER_TIMEOUT_MS)
            page.goto(url)
            page.locator("#qa-question textarea").wait_for()
            answer = ask(page, DETAINED)
            context.close()
    finally:
        _stop(server)
    assert "[7]" not in answer and "4,000" in answer
    assert "cites excerpt 7, which was not given" in answer and "extractive answer" in answer


def test_two_browsers_keep_two_conversations(app: App, page: Page, browser: Browser) -> None:
    ask(page, OPENER)
    other = browser.new_context().new_page()
    other.set_default_timeout(ANSWER_TIMEOUT_MS)
    other.goto(app.url)
    other.locator("#qa-question textarea").wait_for()
    alone = ask(other, FOLLOW_UP)  # the first browser's question is not this one's history
    assert "Searched for:" not in alone
    assert "Searched for:" in ask(page, FOLLOW_UP)
    other.context.close()
