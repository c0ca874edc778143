"""The UI's callbacks as plain functions, and the app's construction, without a server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.answer.compose import CLOSEST, NOT_FOUND, Answer, Citation
from qa.answer.retrieval import NO_FILTERS, Filters
from qa.config import MODES
from qa.errors import IndexMissing, QAError
from qa.surfaces import chatview, ui

TITLE = "Kazakhstan president vows to kill ‘terrorist’ protesters while calling in Russian help"
EXCERPT = (
    "Eyewitness reports suggest the real number of casualties could be much higher. "
    "More than 4,000 people have reportedly been detained by the authorities."
)
QUOTE = "More than 4,000 people have reportedly been detained by the authorities."


def citation(n: int = 1, **changes: object) -> Citation:
    start = EXCERPT.index(QUOTE)
    fields: dict[str, object] = {
        "n": n,
        "article_id": "kz",
        "title": TITLE,
        "published": "2022-01-08",
        "chunk_id": "kz#0",
        "excerpt": EXCERPT,
        "quote": QUOTE,
        "score": 0.71,
        "quote_start": start,
        "quote_end": start + len(QUOTE),
        "source": "The Guardian",
        "url": "https://example.org/kz",
    }
    fields.update(changes)
    return Citation(**fields)  # type: ignore[arg-type]


def answered(*citations: Citation, text: str = f"{QUOTE} [1]") -> Answer:
    return Answer(
        question="How many were detained?", text=text, outcome="answer", citations=citations
    )


def closest(*citations: Citation) -> Answer:
    text = CLOSEST + " " + " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(question="How old?", text=text, outcome="closest", citations=citations)


def nothing() -> Answer:
    return Answer(question="Capital?", text=NOT_FOUND, outcome="none", citations=())


def test_sources_list_number_title_date_source_and_highlighted_quote() -> None:
    page = ui.render_sources(answered(citation()))
    assert "[1]" in page
    assert TITLE in page  # no HTML-special characters in it, so it appears verbatim
    assert "2022-01-08" in page and "The Guardian" in page
    before = "Eyewitness reports suggest the real number of casualties could be much higher. "
    # The mark sits exactly at quote_start..quote_end, inside the excerpt.
    assert f"{before}<mark>{QUOTE}</mark>" in page
    assert page.count("<mark>") == 1
    assert 'href="https://example.org/kz"' in page


def test_sources_show_each_citation_in_order() -> None:
    page = ui.render_sources(answered(citation(1), citation(2, title="Second story")))
    assert page.index("[1]") < page.index("[2]") < page.index("Second story")
    assert page.count("<mark>") == 2


def test_highlight_uses_offsets_not_the_first_occurrence() -> None:
    excerpt = "He said no. Then he said no."
    assert chatview.highlight(excerpt, "no.", 25, 28) == "He said no. Then he said <mark>no.</mark>"


def test_highlight_recovers_from_offsets_that_do_not_match_the_quote() -> None:
    assert chatview.highlight("a b c", "b", 0, 1) == "a <mark>b</mark> c"
    assert chatview.highlight("a b c", "zzz", 0, 1) == "a b c"


def test_missing_date_and_source_are_left_out() -> None:
    page = ui.render_sources(answered(citation(published=None, source=None, url=None)))
    assert "qa-meta" not in page and "href" not in page


def test_timestamp_shows_its_date() -> None:
    page = ui.render_sources(answered(citation(published="2022-01-08T10:30:00+00:00")))
    assert "2022-01-08" in page and "10:30" not in page


def test_the_closest_sentences_are_sources_under_their_own_heading() -> None:
    page = ui.render_sources(closest(citation(1), citation(2, title="Another story")))
    assert ui.CLOSEST_HEADING in page and "qa-closest" in page
    assert TITLE in page and "Another story" in page
    assert "<mark>" in page
    assert ui.render_sources(nothing()).count(chatview.NOTHING_CLOSE) == 1
    assert "qa-closest" not in ui.render_sources(answered(citation()))


def test_article_text_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script>"
    quote = '<img src=x onerror="alert(2)">'
    excerpt = f"Before & {quote} after."
    start = excerpt.index(quote)
    cite = citation(
        title=evil,
        excerpt=excerpt,
        quote=quote,
        quote_start=start,
        quote_end=start + len(quote),
        source="<b>Bad</b>",
        url="javascript:alert(3)",
    )
    page = ui.render_sources(answered(cite))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>&lt;img src=x onerror=&quot;alert(2)&quot;&gt;</mark>" in page
    assert "Before &amp; " in page and "&lt;b&gt;Bad&lt;/b&gt;" in page
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "javascript:" not in page  # only http(s) links are made clickable


def fake_ask(answer: Answer) -> tuple[list[str], ui.Ask]:
    seen: list[str] = []

    def ask(question: str, **options: object) -> Answer:
        seen.append(question)
        return answer

    return seen, ask


def recording_ask(answer: Answer) -> tuple[list[tuple[str, str | None, Filters]], ui.Ask]:
    """A fake `ask` that keeps each call's question, mode and filters."""
    calls: list[tuple[str, str | None, Filters]] = []

    def ask(
        question: str, *, mode: str | None = None, filters: Filters = NO_FILTERS, history=()
    ) -> Answer:
        calls.append((question, mode, filters))
        return answer

    return calls, ask


def test_respond_appends_the_exchange_and_renders_the_sources() -> None:
    seen, ask = fake_ask(answered(citation()))
    earlier = [ui.Turn("hi", message="hello")]
    turns, history, panel = ui.respond(ask, "  How many were detained?  ", earlier)
    assert seen == ["How many were detained?"]
    assert turns[:1] == earlier and len(earlier) == 1  # the input list is not mutated
    assert history[:2] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert history[2] == {"role": "user", "content": "How many were detained?"}
    assert history[3]["role"] == "assistant"
    assert "4,000" in history[3]["content"] and "[1]" in history[3]["content"]
    assert panel == ui.render_sources(answered(citation()))


def test_respond_says_how_close_the_call_was() -> None:
    from dataclasses import replace

    from qa.answer.compose import Confidence

    sure = replace(answered(citation()), confidence=Confidence(0.8123, 0.46))
    _, ask = fake_ask(sure)
    _, history, _ = ui.respond(ask, "How many were detained?", [])
    assert "Confidence 0.81 (it answers at 0.46 or more)" in history[-1]["content"]
    _, ask = fake_ask(answered(citation()))  # an answer without one: no line
    assert "Confidence" not in ui.respond(ask, "How many?", [])[1][-1]["content"]


def test_respond_escapes_question_and_answer_text() -> None:
    _, ask = fake_ask(answered(citation(), text="<img src=x onerror=alert(1)> said so [1]"))
    _, history, _ = ui.respond(ask, "<b>why</b>?", [])
    assert history[0]["content"] == "&lt;b&gt;why&lt;/b&gt;?"
    assert history[1]["content"].startswith("&lt;img src=x onerror=alert(1)&gt; said so [1]")
    assert "<img" not in history[1]["content"]


def test_respond_closest_quotes_the_sentence_in_the_answer_marked_as_such() -> None:
    _, ask = fake_ask(closest(citation()))
    _, history, panel = ui.respond(ask, "How old is Tokayev?", None)
    assert history[-1]["content"].startswith(CLOSEST) and "[1]" in history[-1]["content"]
    assert ui.CLOSEST_HEADING in history[-1]["content"] and ui.CLOSEST_HEADING in panel


def test_respond_none_says_not_found_with_nothing_cited() -> None:
    _, ask = fake_ask(nothing())
    _, history, panel = ui.respond(ask, "What is the capital of Australia?", None)
    assert history[-1]["content"].startswith(NOT_FOUND) and "[1]" not in history[-1]["content"]
    assert chatview.NOTHING_CLOSE in panel and "qa-card" not in panel


@pytest.mark.parametrize("message", ["", "   ", "\n"])
def test_empty_question_gets_a_prompt_and_never_reaches_ask(message: str) -> None:
    seen, ask = fake_ask(answered(citation()))
    _, history, panel = ui.respond(ask, message, [])
    assert seen == []
    assert history == [{"role": "assistant", "content": ui.EMPTY_QUESTION}]
    assert ui.NO_SOURCES in panel


def test_a_qa_error_is_shown_as_its_message() -> None:
    def ask(question: str, **options: object) -> Answer:
        raise IndexMissing("index")

    _, history, panel = ui.respond(ask, "Anything?", [])
    assert history[-1] == {
        "role": "assistant",
        "content": "No index in index: run `qa index build` first.",
    }
    assert "<mark>" not in panel


def test_other_errors_are_not_swallowed() -> None:
    def ask(question: str, **options: object) -> Answer:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        ui.respond(ask, "Anything?", [])


def test_qa_error_message_is_escaped() -> None:
    def ask(question: str, **options: object) -> Answer:
        raise QAError("bad <input>")

    _, history, _ = ui.respond(ask, "q", [])
    assert history[-1]["content"] == "bad &lt;input&gt;"


def test_a_second_answer_replaces_the_sources() -> None:
    _, first = fake_ask(answered(citation(title="First story")))
    _, second = fake_ask(closest(citation(title="Second story")))
    turns, history, panel1 = ui.respond(first, "one", [])
    turns, history, panel2 = ui.respond(second, "two", turns)
    assert "First story" in panel1 and "First story" not in panel2
    assert "Second story" in panel2 and len(history) == 4


# --- the Search options -------------------------------------------------------------------------


def test_mode_and_filters_reach_ask_with_every_question() -> None:
    calls, ask = recording_ask(answered(citation()))
    ui.respond(ask, "How many?", [], "bm25", ["The Guardian"], ["world", "politics"],
               " 2022-01-01 ", "2022-01-31")  # fmt: skip
    assert calls == [
        (
            "How many?",
            "bm25",
            Filters(("The Guardian",), ("world", "politics"), "2022-01-01", "2022-01-31"),
        )
    ]


def test_blank_options_ask_with_the_default_mode_and_no_filters() -> None:
    calls, ask = recording_ask(answered(citation()))
    _, _, panel = ui.respond(ask, "How many?", [], "", None, [], "", "  ")
    assert calls == [("How many?", None, NO_FILTERS)]
    assert "Filters active" not in panel


def test_a_compact_date_is_rewritten_as_filters_compare_it() -> None:
    # Python reads 20220131 as a date, but Filters compares "2022-01-08" with the text: it
    # must arrive as 2022-01-31, or every day of 2022 would sort before it.
    assert ui.read_filters(since="20220131").since == "2022-01-31"
    assert ui.read_filters(until=" 2022-01-31 ").until == "2022-01-31"
    assert ui.read_filters() == NO_FILTERS


@pytest.mark.parametrize(
    ("since", "until", "says"),
    [
        ("last week", "", "since='last week' is not a date: write it as YYYY-MM-DD"),
        ("", "2022-02-30", "until='2022-02-30' is not a date"),
        ("2022-03-01", "2022-01-01", "since 2022-03-01 is after until 2022-01-01: swap them."),
    ],
)
def test_a_bad_date_is_a_message_in_the_chat_and_never_reaches_ask(
    since: str, until: str, says: str
) -> None:
    calls, ask = recording_ask(answered(citation()))
    _, history, panel = ui.respond(ask, "How many?", [], "hybrid", [], [], since, until)
    assert calls == []
    assert history[0] == {"role": "user", "content": "How many?"}
    assert history[1]["role"] == "assistant" and says in history[1]["content"].replace(
        "&#x27;", "'"
    )
    assert "could not be answered" in panel and "<mark>" not in panel


def test_filters_line_names_each_active_filter() -> None:
    assert NO_FILTERS.describe() == ""
    assert Filters(categories=("sport",)).describe() == "Filters active: category = sport"
    line = Filters(("BBC News", "AP"), ("tech",), "2005-01-01", "2005-06-30").describe()
    assert line == (
        "Filters active: source = BBC News, AP · category = tech · since 2005-01-01 · "
        "until 2005-06-30"
    )


def test_filters_that_exclude_everything_abstain_and_say_filters_are_active() -> None:
    _, ask = recording_ask(nothing())  # what the engine gives when no chunk passes
    _, history, panel = ui.respond(ask, "How many?", [], None, [], ["sport"], "2100-01-01", "")
    reply = history[-1]["content"]
    assert reply.startswith(NOT_FOUND)
    assert "Filters active: category = sport · since 2100-01-01" in reply
    assert "Clear them under Search options" in reply
    assert chatview.NOTHING_CLOSE in panel
    assert '<p class="qa-filters">Filters active: category = sport · since 2100-01-01</p>' in panel


def test_an_answer_under_filters_names_them_above_its_sources_only() -> None:
    _, ask = recording_ask(answered(citation()))
    _, history, panel = ui.respond(ask, "How many?", [], None, ["<The Guardian>"], [], "", "")
    assert "Filters active" not in history[-1]["content"]  # an answer needs no excuse
    assert panel.index("Filters active: source = &lt;The Guardian&gt;") < panel.index("[1]")
    assert "<The Guardian>" not in panel


def test_mode_choices_put_the_recommended_first_and_explain_each() -> None:
    assert ui.SearchChoices().mode_choices() == [
        ("hybrid: meaning + keywords (recommended)", "hybrid"),
        ("dense: meaning only", "dense"),
        ("bm25: keywords only", "bm25"),
        ("rrf: rank fusion baseline", "rrf"),
    ]
    assert {m for _, m in ui.SearchChoices().mode_choices()} == set(MODES)
    old_index = ui.SearchChoices(modes=("dense",), mode="dense")
    assert old_index.mode_choices() == [("dense: meaning only", "dense")]


def test_date_hints_give_the_span_or_say_no_article_is_dated() -> None:
    dated = ui.SearchChoices(dates=("2005-01-10", "2005-03-02"))
    assert dated.date_hints() == ("first dated article: 2005-01-10", "last: 2005-03-02")
    assert "no article in this index has a date" in ui.SearchChoices().date_hints()[0]


def _option_parts(demo: object) -> dict[str, object]:
    ids = ("qa-mode", "qa-sources-filter", "qa-categories-filter", "qa-since", "qa-until")
    found = {getattr(p, "elem_id", None): p for p in _components(demo)}
    return {i: found[i] for i in ids}


MODE_ORDER = ("hybrid", "dense", "bm25", "rrf")


def test_search_options_are_collapsed_and_offer_the_choices() -> None:
    import gradio as gr

    _, ask = fake_ask(answered(citation()))
    choices = ui.SearchChoices(
        modes=MODES,
        mode="hybrid",
        sources=("BBC News",),
        categories=("business", "sport"),
        dates=("2005-01-10", "2005-03-02"),
    )
    demo = ui.build_ui(ask, examples=["How many?"], choices=choices)
    (accordion,) = [p for p in _components(demo) if isinstance(p, gr.Accordion)]
    assert accordion.label == "Search options" and accordion.open is False
    parts = _option_parts(demo)
    mode = parts["qa-mode"]
    assert mode.value == "hybrid" and [v for _, v in mode.choices] == list(MODE_ORDER)
    assert parts["qa-sources-filter"].visible is False  # one source: nothing to choose
    categories = parts["qa-categories-filter"]
    assert categories.visible is True and categories.multiselect
    assert [v for _, v in categories.choices] == ["business", "sport"]
    assert parts["qa-since"].placeholder == "YYYY-MM-DD"
    assert "2005-01-10" in parts["qa-since"].info and "2005-03-02" in parts["qa-until"].info
    # Every way of asking takes the five options after the question (or example) and history.
    option_ids = [parts[i]._id for i in parts]  # type: ignore[attr-defined]
    asking = [d for d in demo.fns.values() if d.concurrency_id == "ask"]
    assert len(asking) == 3  # Enter, Send, an example
    for fn in asking:
        assert [b._id for b in fn.inputs][2:] == option_ids


def test_option_updates_keep_picks_still_offered_and_drop_the_rest() -> None:
    import gradio as gr

    fresh = ui.SearchChoices(modes=("dense",), mode="dense", categories=("sport", "tech"))
    mode, sources, categories, since, until = ui._option_updates(
        gr, fresh, ("bm25", ["BBC News"], ["sport", "business"])
    )
    assert mode["value"] == "dense"  # bm25 is gone with the keyword part
    assert sources["visible"] is False and sources["value"] == []
    assert categories["visible"] is True and categories["value"] == ["sport"]
    assert categories["choices"] == ["sport", "tech"]
    assert "no article" in since["info"]
    # On page load nothing is picked yet that could be reset: only the choices change.
    mode, sources, categories, *_ = ui._option_updates(gr, fresh)
    assert "value" not in mode and "value" not in categories and categories["visible"] is True


@pytest.fixture(scope="module")
def bbc_engine(tmp_path_factory: pytest.TempPathFactory, embedder):
    """A real index of five BBC business and five sport stories, one of them dated."""
    import json

    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.index.indexing import build_index
    from tests.conftest import bbc_lines, write_bbc_subset

    rows = bbc_lines()
    ids = {
        r["id"] for c in ("business", "sport") for r in [x for x in rows if x["category"] == c][:5]
    }
    folder = tmp_path_factory.mktemp("bbc-ui")
    corpus = write_bbc_subset(folder / "corpus" / "bbc.jsonl", ids)
    picked = [json.loads(line) for line in corpus.read_text().splitlines()]
    picked[0]["published"] = "2005-01-10"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in picked))
    settings = Settings(corpus=corpus.parent, index=folder / "index")
    build_index(settings, embedder)
    return Engine.load(settings, embedder)


def test_a_category_picked_in_the_options_narrows_the_real_engine(bbc_engine) -> None:
    choices = ui.SearchChoices.of(bbc_engine)
    assert choices.categories == ("business", "sport") and choices.sources == ("BBC News",)
    assert choices.dates == ("2005-01-10", "2005-01-10") and choices.mode == "hybrid"
    answers: list[Answer] = []

    def ask(question: str, **options: object) -> Answer:
        answers.append(bbc_engine.ask(question, **options))
        return answers[-1]

    question = "What did Time Warner report about its quarterly profits?"
    articles = bbc_engine.index.data.articles

    def categories(answer: Answer) -> set[str]:
        """The categories of the passages it read (it may quote none of them)."""
        return {articles[p["article_id"]].category for p in answer.trace["passages"]}

    ui.respond(ask, question, [], "hybrid", [], [], "", "")
    assert "business" in categories(answers[-1])
    _, _, panel = ui.respond(ask, question, [], "bm25", [], ["sport"], "", "")
    assert categories(answers[-1]) == {"sport"}
    assert "Filters active: category = sport" in panel
    _, history, panel = ui.respond(ask, question, [], "dense", [], [], "2005-02-01", "")
    assert answers[-1].outcome == "none"  # no article is that recent
    assert "Filters active: since 2005-02-01" in history[-1]["content"]


def _components(demo: object) -> list[object]:
    return list(demo.blocks.values())  # type: ignore[attr-defined]


def test_build_ui_with_an_engine_has_chat_examples_and_sources() -> None:
    import gradio as gr

    _, ask = fake_ask(answered(citation()))
    demo = ui.build_ui(
        ask,
        examples=["How many were detained?", "Who asked Russia for help?"],
        title="Article QA <test>",
        corpus_info="1 article, 5 chunks",
    )
    assert isinstance(demo, gr.Blocks)
    parts = _components(demo)
    assert any(isinstance(p, gr.Chatbot) for p in parts)
    (picker,) = [p for p in parts if isinstance(p, gr.Dataset)]
    assert picker.raw_samples == [["How many were detained?"], ["Who asked Russia for help?"]]
    htmls = [p.value for p in parts if isinstance(p, gr.HTML)]
    assert any("Article QA &lt;test&gt;" in h and "1 article, 5 chunks" in h for h in htmls)
    assert any(ui.NO_SOURCES in h for h in htmls)
    api = {d.api_name for d in demo.fns.values()}
    assert "ask" in api
    assert demo.delete_cache == ui.UPLOAD_CACHE  # uploads do not pile up in the temp folder
    (asking,) = [d for d in demo.fns.values() if d.api_name == "ask"]
    assert asking.concurrency_limit == 2  # the default: benchmarks/concurrency.py
    several = ui.build_ui(ask, concurrency=3)
    assert {d.concurrency_limit for d in several.fns.values() if d.concurrency_id == "ask"} == {3}


def test_build_ui_without_an_engine_shows_the_problem_instead_of_the_chat() -> None:
    import gradio as gr

    demo = ui.build_ui(None, problem="No index in index: run `qa index build` first.")
    parts = _components(demo)
    assert not any(isinstance(p, gr.Chatbot | gr.Textbox | gr.Button) for p in parts)
    text = " ".join(p.value for p in parts if isinstance(p, gr.HTML))
    assert "No index in index: run <code>qa index build</code> first." in text
    assert not demo.fns


def test_importing_the_ui_module_does_not_import_gradio() -> None:
    import subprocess
    import sys

    code = "import sys, qa.surfaces.ui; print('gradio' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"


def test_css_styles_the_highlight() -> None:
    assert re.search(r"mark\s*\{", ui.CSS)


# --- the Articles tab ---------------------------------------------------------------------------

LANTERNS = "Tallinn lantern festival\n\nThe city of Tallinn lit 4,321 paper lanterns on Friday.\n"


@pytest.fixture
def library(tmp_path: Path, embedder) -> ui.Library:
    """A real engine over a private copy of the seeds, and the tab's methods over both."""
    import shutil

    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.index.indexing import build_index
    from tests.conftest import SEEDS

    shutil.copytree(SEEDS, tmp_path / "corpus")
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index")
    build_index(settings, embedder)
    return ui.Library(settings, Engine.load(settings, embedder), update_embedder=embedder)


def test_library_lists_and_searches_the_indexed_articles(library: ui.Library) -> None:
    (row,) = library.rows()
    assert row[0].startswith("Kazakhstan president") and row[3] >= 2
    assert row[4].endswith(".txt") and row[5] == row[4].removesuffix(".txt")
    assert library.rows("KAZAKH") == [row] and library.rows("no such words") == []
    assert "1 article" in library.status() and library.note() is None


def test_upload_update_ask_and_remove_from_the_tab(library: ui.Library, tmp_path: Path) -> None:
    sent = tmp_path / "sent" / "lanterns.txt"
    sent.parent.mkdir()
    sent.write_text(LANTERNS)
    said = library.upload([str(sent)])
    assert said.startswith("added lanterns.txt") and "Press Update index" in said
    assert "1 article changed since the index was built" in library.status()
    assert "press Update index below" in library.header("Article QA")

    lines: list[tuple[float, str]] = []
    summary = library.update(lambda fraction, line: lines.append((fraction, line)))
    assert "Update: 1 added, 0 changed, 0 removed, 1 unchanged" in summary
    assert [f for f, _ in lines] == sorted(f for f, _ in lines) and lines[-1][0] == 1.0
    stages = [line.split()[0] for _, line in lines]
    assert [s for i, s in enumerate(stages) if s not in stages[:i]] == [
        "reading", "chunking", "embedding", "keywords", "writing"
    ]  # fmt: skip
    assert any(line.startswith("embedding 1/1 chunks") for _, line in lines)
    assert len(library.rows()) == 2 and library.note() is None
    answer = library.engine.ask("How many paper lanterns did Tallinn light?")
    assert "4,321" in answer.text and answer.citations[0].title == "Tallinn lantern festival"

    said = library.remove("lanterns")
    assert (
        said == "Removed the file lanterns.txt. Press Update index to take it out of the answers."
    )
    assert "1 article changed" in library.status()
    assert "0 added, 0 changed, 1 removed" in library.update()
    assert "No indexed article has the id 'lanterns'" in library.remove("lanterns")


def test_the_tab_reports_refused_uploads_and_a_locked_index(library: ui.Library, tmp_path) -> None:
    from qa.index import store

    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    assert "refused tool.exe: not an article file" in library.upload([str(bad)])
    with store.writer_lock(library.settings.index):
        assert library.update().startswith("The update did not run: Another build (pid")


def test_stage_progress_says_counts_rate_and_time_left(monkeypatch) -> None:
    clock = iter([100.0, 102.0, 110.0, 110.0])
    monkeypatch.setattr(ui.time, "monotonic", lambda: next(clock))
    seen: list[tuple[float, str]] = []
    progress = ui.StageProgress(lambda f, line: seen.append((f, line)))
    progress("embedding", 0, 1000)
    progress("embedding", 100, 1000)
    progress("embedding", 1000, 1000)
    progress("writing", 0, 6)
    # Five stages (reading, chunking, embedding, keywords, writing), each a fifth of the bar:
    # embedding is the third, so it starts at 2/5 and 100 of 1,000 chunks add 0.1/5.
    assert seen[0] == (0.4, "embedding 0/1,000 chunks")
    assert seen[1] == (pytest.approx(0.42), "embedding 100/1,000 chunks · 50.0/s · about 18 s left")
    assert seen[2] == (0.6, "embedding 1,000/1,000 chunks · 100.0/s")
    assert seen[3] == (0.8, "writing 0/6 files")


def test_build_ui_with_a_library_adds_the_articles_tab(library: ui.Library) -> None:
    import gradio as gr

    demo = ui.build_ui(library.engine.ask, library=library, corpus_info=library.info())
    parts = _components(demo)
    tabs = [p.label for p in parts if isinstance(p, gr.Tab)]
    assert tabs == ["Chat", "Articles"]
    (upload,) = [p for p in parts if isinstance(p, gr.File)]
    assert set(upload.file_types) == {".txt", ".md", ".html", ".htm", ".json", ".jsonl"}
    (table,) = [p for p in parts if isinstance(p, gr.Dataframe)]
    assert table.headers == ui.ARTICLE_HEADERS
    buttons = {p.elem_id for p in parts if isinstance(p, gr.Button)}
    assert {"qa-update", "qa-remove", "qa-send"} <= buttons
    # The Search options' choices are refreshed on page load and after the tab's update.
    option_ids = [p._id for p in _option_parts(demo).values()]  # type: ignore[attr-defined]
    refreshes = [d for d in demo.fns.values() if [b._id for b in d.outputs] == option_ids]
    assert len(refreshes) == 2
