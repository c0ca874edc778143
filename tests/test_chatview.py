"""The chat's conversation: history reaches `ask`, answers stream in, earlier sources stay as
they were (marked when their article changed), the article viewer, and the trace."""

from __future__ import annotations

from dataclasses import replace

from qa.answer.compose import Answer
from qa.ingest.corpus import Article
from qa.surfaces import chatview, ui
from tests.test_ui import EXCERPT, QUOTE, answered, citation

BEFORE = "Protests began in January. "
ARTICLE = Article(
    id="kz",
    title="Kazakhstan <unrest>",
    text=BEFORE + EXCERPT + " Tokayev, 68, asked Putin for help.",
    published="2022-01-08",
    source="The Guardian",
    url="https://example.org/kz",
)


def _current(article: Article = ARTICLE, generation: str = "gen-1"):
    return lambda: (generation, {article.id: article})


def _asking(answer: Answer):
    calls: list[tuple[str, list[str]]] = []

    def ask(question: str, *, history=(), **options: object) -> Answer:
        calls.append((question, list(history)))
        return replace(answer, question=question)

    return calls, ask


def test_earlier_questions_go_with_each_question_but_not_failed_ones() -> None:
    calls, ask = _asking(answered(citation()))
    turns, _, _ = ui.respond(ask, "Who leads Kazakhstan?", [])
    turns, _, _ = ui.respond(ask, "   ", turns)  # a prompt, not a question
    turns, _, _ = ui.respond(ask, "How old is he?", turns)
    assert calls == [("Who leads Kazakhstan?", []), ("How old is he?", ["Who leads Kazakhstan?"])]
    assert [t.question for t in turns] == ["Who leads Kazakhstan?", "", "How old is he?"]


def test_an_answer_streams_in_one_quote_at_a_time() -> None:
    two = answered(citation(1), citation(2, title="Second"), text=f"{QUOTE} [1] {QUOTE} [2]")
    _, ask = _asking(two)
    steps = list(ui.stream(ask, "How many?", [], current=_current()))
    assert len(steps) == 3  # looking, the first quote, the whole answer
    looking, first, whole = (step[1][-1]["content"] for step in steps)
    assert chatview.PENDING in looking and "[1]" not in looking
    assert "[1]" in first and "[2]" not in first and "qa-pending" in first
    assert "[2]" in whole and "qa-pending" not in whole
    panels = [step[2] for step in steps]
    assert "[1]" not in panels[0]
    assert "[1]" in panels[1] and "Second" not in panels[1]
    assert "Second" in panels[2]
    assert [len(step[0]) for step in steps] == [0, 0, 1]  # the turn is kept once whole


def test_earlier_sources_stay_as_they_were_and_are_marked_when_the_article_changed() -> None:
    _, ask = _asking(answered(citation()))
    turns, history, _ = ui.respond(ask, "How many?", [], current=_current())
    assert QUOTE in history[1]["content"] and "qa-changed" not in history[1]["content"]
    assert turns[0].generation == "gen-1" and turns[0].hashes == {"kz": ARTICLE.content_hash}
    edited = replace(ARTICLE, text=ARTICLE.text.replace("4,000", "5,000"))
    _, history, _ = ui.respond(ask, "And then?", turns, current=_current(edited, "gen-2"))
    assert QUOTE in history[1]["content"]  # the excerpt as it was answered
    assert "changed since this answer" in history[1]["content"]
    assert "changed since" not in history[3]["content"]  # the new answer is of the new text
    _, history, _ = ui.respond(ask, "Still?", turns, current=lambda: ("gen-3", {}))
    assert "removed from the index" in history[1]["content"]


def test_the_viewer_shows_the_whole_article_with_the_quote_highlighted() -> None:
    two = answered(
        citation(1),
        citation(2, quote="Eyewitness reports", quote_start=0, quote_end=18),
        text=f"{QUOTE} [1] Eyewitness reports [2]",
    )
    views = chatview.viewers(two, {"kz": ARTICLE})
    first = views[1]
    assert "Read the whole article" in first
    assert "Kazakhstan &lt;unrest&gt;" in first and "<unrest>" not in first
    assert f'<mark class="qa-here">{QUOTE}</mark>' in first
    assert '<mark class="qa-also">Eyewitness reports</mark>' in first
    assert "Tokayev, 68" in first and BEFORE.strip() in first  # the whole text, not the excerpt
    assert '<mark class="qa-here">Eyewitness reports</mark>' in views[2]
    panel = ui.render_sources(two, articles={"kz": ARTICLE})
    assert panel.count("Read the whole article") == 2


def test_the_viewer_escapes_hostile_article_text() -> None:
    evil = replace(ARTICLE, text="<script>alert(1)</script> " + EXCERPT, url="javascript:x")
    view = chatview.viewers(answered(citation()), {"kz": evil})[1]
    assert "<script" not in view and "&lt;script&gt;" in view and "javascript:" not in view


def test_the_trace_shows_scores_ranks_and_the_verdict() -> None:
    trace = {
        "query": "How old is he? Tokayev",
        "rewritten": True,
        "retrieval_mode": "hybrid",
        "passages": [
            {
                "rank": 1,
                "chunk_id": "kz#0",
                "article_id": "kz",
                "title": "<b>T</b>",
                "fused": 0.9,
                "dense": 0.5,
                "keyword": 3.2,
                "dense_rank": 1,
                "keyword_rank": None,
            },
        ],  # fmt: skip
        "sentences": [
            {"chunk_id": "kz#0", "text": "Tokayev, 68, asked", "score": 1.4, "quoted": True}
        ],  # fmt: skip
        "confidence": {"value": 0.41, "threshold": 0.44, "answers": False, "missing": []},
        "timings_ms": {"embed": 8.0},
    }
    html = chatview.render_trace(trace)
    assert "Why these sources?" in html and "Searched for" in html
    assert "&lt;b&gt;T&lt;/b&gt;" in html and "<b>T</b>" not in html
    assert "0.500 (#1)" in html and "3.20 (#–)" in html
    assert '<li class="qa-quoted">+1.40' in html
    assert "Confidence 0.410 against the threshold 0.440: it abstains" in html


def test_a_language_model_answer_streams_in_one_sentence_at_a_time() -> None:
    written = replace(
        answered(citation(1), citation(2, title="Second")),
        text="More than 4,000 were detained. [1] Eyewitnesses doubt it. [2]",
        mode="llm",
    )
    _, ask = _asking(written)
    steps = list(ui.stream(ask, "How many?", [], current=_current()))
    partial = steps[1][1][-1]["content"]
    assert partial.startswith("More than 4,000 were detained. [1]")
    assert "Eyewitnesses" not in partial and QUOTE not in partial
    whole = steps[-1][1][-1]["content"]
    assert "Eyewitnesses doubt it. [2]" in whole and "Written by the language model" in whole
