"""The Gradio chat: a thin shell over `Engine.ask`, and an Articles tab to manage the corpus.

Every callback is a plain function of plain values (`stream` and `respond`, `render_sources`,
the methods of `Library`) so tests can call it without a server. Gradio itself is imported only
inside `build_ui` and `serve`, so importing this module stays cheap. All article text is
HTML-escaped (in `qa.surfaces.chatview`) before it reaches the page.

A conversation is a list of `Turn`s held per browser session (`gr.State`); `stream` asks each
question with the earlier ones as history and yields the chat as the answer comes in, drawn
again from the turns each time so earlier answers keep their sources as they were quoted.
With `tools` (`qa serve --mcp`) the app also serves `ask` and `search` as MCP tools.

A collapsed "Search options" panel under the question picks the retrieval mode and filters
(sources, categories, a date range); `respond` turns those plain values into `Filters` and
passes both to `ask` with every question, example clicks included.

The Articles tab lists the indexed articles, adds uploaded files to the corpus folder, removes
an article's file (or line), and runs `update_index` with its own copy of the model, so the chat
keeps answering from the previous generation while an update runs and follows the new one from
its next question (see `Engine.refresh`).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qa.answer.compose import Answer
from qa.answer.retrieval import NO_FILTERS, Filters
from qa.config import MODES
from qa.errors import QAError, UsageError, need
from qa.ingest.corpus import Article
from qa.surfaces import chatview
from qa.surfaces.chatview import History, Turn, chat_html, render_history
from qa.surfaces.chatview import date_of as _date
from qa.surfaces.chatview import esc as _esc

if TYPE_CHECKING:
    import gradio as gr

    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.embed.embedding import Embedder


class Ask(Protocol):
    """What the chat calls: `Engine.ask`, or a small fake in tests."""

    def __call__(
        self,
        question: str,
        *,
        mode: str | None = None,
        filters: Filters = ...,
        history: Sequence[str] = ...,
    ) -> Answer: ...


EMPTY_QUESTION = "Please type a question about the articles."
CLOSEST_HEADING = chatview.CLOSEST_HEADING
NO_SOURCES = "Sources for each answer appear here."
# The mode choices, recommended first, each with the one line that tells them apart.
MODE_HELP = {
    "hybrid": "meaning + keywords (recommended)",
    "dense": "meaning only",
    "bm25": "keywords only",
    "rrf": "rank fusion baseline",
}
FOOTER = (
    "Answers quote the articles word for word; <b>[n]</b> points to the numbered source on the "
    "right, its quoted sentence highlighted. Everything runs on this machine."
)

# Opening an article viewer scrolls its highlighted sentence into view. `toggle` does not
# bubble, so the listener catches it on the way down.
HEAD = """<script>
document.addEventListener("toggle", (event) => {
  const viewer = event.target;
  if (!(viewer instanceof HTMLDetailsElement) || !viewer.open) return;
  if (!viewer.classList.contains("qa-article")) return;
  const here = viewer.querySelector("mark.qa-here");
  if (here) here.scrollIntoView({ block: "center", behavior: "instant" });
}, true);
</script>"""

# Gradio 6 takes CSS in `launch(css=...)`, not in the `Blocks` constructor. Bold text uses the
# system sans: the theme's bundled Source Sans Pro lacks most glyphs at weight 600 ("AB" then a
# fallback font mid-word).
CSS = """
#qa-header h1, .qa-sources h3, .qa-card-head, #qa-footer b {
  font-family: ui-sans-serif, system-ui, sans-serif; }
#qa-header h1 { margin: 0 0 .2rem 0; font-size: 1.6rem; font-weight: 600; }
#qa-header .qa-info { color: var(--body-text-color-subdued); font-size: .9rem; }
#qa-footer { color: var(--body-text-color-subdued); font-size: .85rem; }
.qa-problem { border: 1px solid #e0a800; background: #fff8e1; color: #5c4400;
  border-radius: 8px; padding: 1rem 1.2rem; font-size: 1.05rem; }
.qa-problem code { background: #fff; padding: 0 .3rem; border-radius: 4px; }
.qa-sources h3 { margin: .2rem 0 .6rem 0; font-size: 1rem; }
.qa-empty { color: var(--body-text-color-subdued); font-style: italic; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .6rem .8rem; margin-bottom: .7rem; background: var(--background-fill-secondary); }
.qa-card.qa-closest { opacity: .85; border-style: dashed; }
.qa-card-head { font-weight: 600; }
.qa-n { color: var(--color-accent); margin-right: .3rem; }
.qa-meta { color: var(--body-text-color-subdued); font-size: .8rem; margin: .1rem 0 .4rem 0; }
.qa-excerpt { font-size: .9rem; line-height: 1.45; margin: 0; white-space: pre-wrap; }
.qa-excerpt mark { background: #ffe58a; color: inherit; padding: 0 .1rem; border-radius: 3px; }
.qa-link { font-size: .8rem; }
.qa-stale { color: #5c4400; background: #fff8e1; border: 1px solid #e0a800; border-radius: 6px;
  padding: .3rem .6rem; margin-top: .3rem; font-size: .85rem; }
.qa-stale code, .qa-summary code { background: #fff; padding: 0 .3rem; border-radius: 4px; }
.qa-summary { white-space: pre-wrap; font-size: .9rem; }
.qa-changed { color: #5c4400; background: #fff8e1; border-radius: 6px; padding: .2rem .5rem;
  margin: .2rem 0; font-size: .8rem; }
.qa-asked-as, .qa-pending { color: var(--body-text-color-subdued); }
details.qa-turn-sources, details.qa-trace { margin-top: .5rem; font-size: .85rem; }
details.qa-turn-sources > summary, details.qa-trace > summary, details.qa-article > summary {
  cursor: pointer; color: var(--color-accent); }
.qa-trace table { border-collapse: collapse; font-size: .8rem; }
.qa-trace td, .qa-trace th { border: 1px solid var(--border-color-primary); padding: .1rem .3rem; }
.qa-trace li.qa-quoted { font-weight: 600; }
details.qa-article { margin-top: .4rem; font-size: .85rem; }
.qa-article-body { max-height: 420px; overflow-y: auto; border-top: 1px solid
  var(--border-color-primary); margin-top: .3rem; padding-top: .3rem; }
.qa-article-body h4 { margin: .2rem 0; }
.qa-article-text { white-space: pre-wrap; line-height: 1.45; }
.qa-article-text mark.qa-here { background: #ffd43b; color: inherit; }
.qa-article-text mark.qa-also { background: #fff3bf; color: inherit; }
.qa-filters { color: #5c4400; background: #fff8e1; border-radius: 6px; padding: .2rem .5rem;
  margin: 0 0 .6rem 0; font-size: .85rem; }
"""


def render_sources(
    answer: Answer, filters: Filters = NO_FILTERS, articles: Mapping[str, Article] | None = None
) -> str:
    """The Sources panel for an answer asked with `filters` (`chatview.render_sources`)."""
    return chatview.render_sources(answer, filters.describe(), articles, empty=NO_SOURCES)


def _day(text: str | None) -> str | None:
    """A typed date as `Filters` compares it (YYYY-MM-DD), None when blank.

    Python also reads `20050131` as a date; it is rewritten, since `Filters` compares dates
    as text. What Python cannot read is passed on unchanged for `Filters` to refuse.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return text


def read_filters(
    sources: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Filters:
    """The `Filters` the Search options describe; nothing picked or typed does not filter.

    Raises `UsageError` (its message is for the user) for a date that is not YYYY-MM-DD.
    """
    return Filters(
        sources=tuple(sources or ()),
        categories=tuple(categories or ()),
        since=_day(since),
        until=_day(until),
    )


Current = Callable[[], tuple[str, Mapping[str, Article]]]
"""The generation answering now and its articles (for the viewer and the changed marks)."""


def respond(
    ask: Ask,
    message: str,
    turns: Sequence[Turn] | None,
    mode: str | None = None,
    sources: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    current: Current | None = None,
) -> tuple[list[Turn], History, str]:
    """`stream`, run to its end: the turns, the chat drawn from them, the Sources panel."""
    *_, last = stream(ask, message, turns, mode, sources, categories, since, until, current)
    return last


def stream(
    ask: Ask,
    message: str,
    turns: Sequence[Turn] | None,
    mode: str | None = None,
    sources: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    current: Current | None = None,
) -> Iterator[tuple[list[Turn], History, str]]:
    """Ask one question of the conversation `turns` with the Search options' values, and
    yield the chat as it fills in: the question with a "looking" line, then the answer one
    quote at a time with the Sources panel filling in beside it, then the whole turn.

    The earlier questions go with it as history, so a follow-up ("How old is he?") is asked as
    what it stands for. `mode` None (or blank) is the engine's default. An empty question gets
    a gentle prompt; a `QAError`, a mistyped date included, is shown as its message, not
    raised. `current` gives the articles as indexed now, for the article viewer and for
    marking earlier sources whose article has changed since.
    """
    turns = list(turns or [])
    generation, now = current() if current is not None else ("", None)
    question = (message or "").strip()
    if not question:
        turns.append(Turn("", message=EMPTY_QUESTION))
        yield turns, render_history(turns, now), chatview.render_placeholder(NO_SOURCES)
        return
    waiting = [*turns, Turn(question, message=chatview.PENDING)]
    yield list(turns), render_history(waiting, now), chatview.render_placeholder(NO_SOURCES)
    earlier = [t.question for t in turns if t.answer is not None]
    try:
        filters = read_filters(sources, categories, since, until)
        answer = ask(question, mode=mode or None, filters=filters, history=earlier)
    except QAError as error:
        turns.append(Turn(question, message=str(error)))
        placeholder = "No sources: the question could not be answered."
        yield turns, render_history(turns, now), chatview.render_placeholder(placeholder)
        return
    hashes = {
        c.article_id: now[c.article_id].content_hash
        for c in answer.citations
        if now is not None and c.article_id in now
    }
    turn = Turn(question, answer, filters=filters.describe(), generation=generation, hashes=hashes)
    for upto in range(1, len(answer.citations)):  # the last quote arrives with the whole turn
        messages = render_history(turns, now) + [
            {"role": "user", "content": chat_html(question)},
            {"role": "assistant", "content": chatview.reply_html(turn, now, upto)},
        ]
        yield (
            list(turns),
            messages,
            chatview.render_sources(answer, filters.describe(), now, upto, empty=NO_SOURCES),
        )
    turns.append(turn)
    yield turns, render_history(turns, now), render_sources(answer, filters, now)


@dataclass(frozen=True)
class SearchChoices:
    """What the Search options offer: the index's retrieval modes and its facets."""

    modes: tuple[str, ...] = MODES
    mode: str = "hybrid"  # the default: what a question gets with no mode picked
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()  # the first and last publication dates, when any is known

    @classmethod
    def of(cls, engine: Engine) -> SearchChoices:
        facets = engine.facets()
        return cls(
            modes=engine.modes,
            mode=engine.mode(None),
            sources=tuple(facets["sources"]),
            categories=tuple(facets["categories"]),
            dates=tuple(facets["dates"]),
        )

    def mode_choices(self) -> list[tuple[str, str]]:
        """(label, mode) pairs for the radio: the recommended first, each with its line."""
        ordered = [m for m in MODE_HELP if m in self.modes]
        ordered += [m for m in self.modes if m not in MODE_HELP]
        return [(f"{m}: {MODE_HELP[m]}" if m in MODE_HELP else m, m) for m in ordered]

    def date_hints(self) -> tuple[str, str]:
        """The notes under the since and until boxes: the corpus's date span, when known."""
        if self.dates:
            return f"first dated article: {self.dates[0]}", f"last: {self.dates[-1]}"
        return "no article in this index has a date,", "so a date here finds nothing"


def _header(title: str, corpus_info: str, note: str | None = None) -> str:
    info = f'<div class="qa-info">{_esc(corpus_info)}</div>' if corpus_info else ""
    return f"<h1>{_esc(title)}</h1>{info}{_note_html(note)}"


def _note_html(note: str | None) -> str:
    """A staleness (or reload problem) note, with `backticked` commands shown as code."""
    if not note:
        return ""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", _esc(note))
    return f'<div class="qa-stale">{text}</div>'


# --- the Articles tab ---------------------------------------------------------------------------

ARTICLE_HEADERS = ["Title", "Date", "Source", "Chunks", "File", "Id"]
MAX_ROWS = 200  # rows shown at once; the search narrows the rest


class StageProgress:
    """Turns a build's `(stage, done, total)` into a fraction of the whole and one honest line:
    "embedding 1,200/8,000 chunks · 310.5/s · about 22 s left"."""

    def __init__(self, sink: Callable[[float, str], None]) -> None:
        self.sink = sink
        self.stage = ""
        self.started = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        from qa.index.indexing import STAGES, UNITS

        now = time.monotonic()
        if stage != self.stage:
            self.stage, self.started = stage, now
        elapsed = now - self.started
        rate = done / elapsed if done and elapsed > 0 else None
        line = f"{stage} {done:,}/{total:,} {UNITS.get(stage, 'items')}"
        if rate:
            line += f" · {rate:,.1f}/s"
            if total > done:
                line += f" · about {(total - done) / rate:,.0f} s left"
        step = STAGES.index(stage) if stage in STAGES else 0
        fraction = (step + (done / total if total else 0)) / len(STAGES)
        self.sink(min(fraction, 1.0), line)


@dataclass
class Library:
    """What the Articles tab does, as plain methods over the engine and the corpus folder."""

    settings: Settings
    engine: Engine
    # The update's own model: the chat's stays free to answer (and tokenizers are not meant to
    # be shared between threads). Loaded on the first update.
    update_embedder: Embedder | None = None
    _chunk_counts: tuple[str, Counter] = field(default=("", Counter()), repr=False)

    def info(self) -> str:
        return self.engine.describe()

    def note(self) -> str | None:
        """Why the answers may be behind the corpus: a failed reload, or changed articles."""
        from qa.index.indexing import corpus_changes

        index = self.engine.refresh()
        if self.engine.problem:
            return f"The newest index could not be loaded ({self.engine.problem})."
        try:
            note = corpus_changes(index.data.manifest, self.settings.corpus).stale_note()
        except QAError:
            return None
        return note and note.replace("run `qa index update`", "press Update index below")

    def header(self, title: str) -> str:
        return _header(title, self.info(), self.note())

    def rows(self, query: str = "") -> list[list[Any]]:
        """The indexed articles matching `query` (in title, source, category, file or id)."""
        index = self.engine.refresh()
        if self._chunk_counts[0] != index.folder.name:
            counts = Counter(index.row_articles)
            self._chunk_counts = (index.folder.name, counts)
        counts = self._chunk_counts[1]
        needle = (query or "").strip().casefold()
        rows = []
        for a in index.data.articles.values():
            fields = (a.title, a.source, a.category, a.path, a.id)
            if needle and not any(needle in (f or "").casefold() for f in fields):
                continue
            rows.append([a.title, _date(a.published) or "", a.source or "", counts[a.id],
                         a.path or "", a.id])  # fmt: skip
            if len(rows) >= MAX_ROWS:
                break
        return rows

    def status(self) -> str:
        """The tab's heading: what is indexed, from where, and whether it is behind."""
        n = len(self.engine.refresh().data.articles)
        shown = f"; the list shows the first {MAX_ROWS}, search to narrow" if n > MAX_ROWS else ""
        where = f"Corpus folder: <code>{_esc(str(self.settings.corpus))}</code>"
        return f"<div>{_esc(self.info())}{_esc(shown)}<br>{where}</div>{_note_html(self.note())}"

    def upload(self, paths: Sequence[str] | None) -> str:
        """Copy uploaded files into the corpus folder; a line per file saying what happened."""
        from qa.ingest.library import add_files

        if not paths:
            return "No files."
        try:
            added = add_files(self.settings.corpus, [(Path(p).name, Path(p)) for p in paths])
        except QAError as error:
            return str(error)
        return added.summary().replace("Run the index update", "Press Update index")

    def remove(self, article_id: str) -> str:
        """Remove an indexed article's file (or its line) from the corpus folder."""
        from qa.ingest.library import remove_article

        article_id = (article_id or "").strip()
        article = self.engine.refresh().data.articles.get(article_id)
        if article is None:
            return f"No indexed article has the id {article_id!r}: pick one in the list."
        try:
            done = remove_article(self.settings.corpus, article)
        except QAError as error:
            return str(error)
        return f"{done.capitalize()}. Press Update index to take it out of the answers."

    def update(self, progress: Callable[[float, str], None] | None = None) -> str:
        """Run the incremental update with staged progress; the summary, or why it failed."""
        from qa.embed.embedding import Embedder
        from qa.index.indexing import update_index

        sink = progress or (lambda fraction, line: None)
        try:
            if self.update_embedder is None:
                sink(0.0, "loading the model for the update")
                self.update_embedder = Embedder.load(self.settings.model, self.settings.precision)
            report = update_index(self.settings, self.update_embedder, StageProgress(sink))
        except QAError as error:
            return f"The update did not run: {error}"
        self.engine.refresh()  # load the new generation now, not on the next question
        failed = [f"skipped {s.path}: {s.reason}" for s in report.skipped]
        renamed = [f"renamed {r.path}: {r.reason}" for r in report.renamed]
        return "\n".join([report.summary(), *failed, *renamed])


def _problem_html(problem: str) -> str:
    """The problem as escaped HTML, with `backticked` commands shown as code."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", _esc(problem))
    return (
        f'<div class="qa-problem"><b>The chat is not available.</b><br>{text}<br>'
        "Then restart the app (<code>python app.py</code>).</div>"
    )


def build_ui(
    ask: Ask | None,
    *,
    problem: str | None = None,
    examples: Sequence[str] = (),
    title: str = "Article QA",
    corpus_info: str = "",
    library: Library | None = None,
    choices: SearchChoices | None = None,
    concurrency: int = 2,
    current: Current | None = None,
    tools: Sequence[Callable[..., str]] = (),
) -> gr.Blocks:
    """The app, not launched. With `ask=None` it shows `problem` instead of the chat; with a
    `library` it adds the Articles tab and keeps the header's staleness note current, and
    the Search options' choices current with the index. `choices` default to every mode and
    no facets (`SearchChoices.of(engine)` gives an engine's)."""
    import gradio as gr

    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=UPLOAD_CACHE) as demo:
        header = gr.HTML(_header(title, corpus_info), elem_id="qa-header", js_on_load=None)
        if ask is None:
            gr.HTML(
                _problem_html(problem or "The question engine could not be loaded."),
                elem_id="qa-problem",
                js_on_load=None,
            )
            return demo
        with gr.Tabs(elem_id="qa-tabs"):
            with gr.Tab("Chat", id="chat", elem_id="qa-tab-chat"):
                chat_events, options = _chat(
                    gr, ask, examples, choices or SearchChoices(), concurrency, current,
                    public=not tools,
                )  # fmt: skip
            if library is not None:
                with gr.Tab("Articles", id="articles", elem_id="qa-tab-articles"):
                    updated = _articles_tab(gr, library, header, title)
        if library is not None:
            private = {"api_visibility": "private"}

            def refresh_header() -> str:
                return library.header(title)

            def refresh_options(*picked: Any) -> tuple[Any, ...]:
                return _option_updates(gr, SearchChoices.of(library.engine), picked or None)

            demo.load(refresh_header, None, header, **private)
            # A page opened after `qa index update` offers the new generation's choices; on
            # load only the choices change, so a pick made meanwhile is never reset.
            demo.load(refresh_options, None, options, **private)
            for event in chat_events:
                event.then(refresh_header, None, header, **private)
            # After an update from the tab, new sources or categories can be picked at once;
            # a picked one that is gone is dropped (Gradio refuses values not among choices).
            updated.then(refresh_options, options[:3], options, **private)
        for tool in tools:  # MCP tools (and API endpoints) named after their functions
            gr.api(tool, api_name=f"tool_{tool.__name__}", concurrency_id="ask")
        gr.HTML(FOOTER, elem_id="qa-footer", js_on_load=None)
    return demo


def _option_updates(
    gr: Any, choices: SearchChoices, picked: Sequence[Any] | None = None
) -> tuple[Any, ...]:
    """Updates for the Search options' components (mode, sources, categories, since, until)
    offering `choices`. `picked` holds the current mode, sources and categories, kept where
    still offered; without it the values are left as they are."""
    since_hint, until_hint = choices.date_hints()
    mode: dict[str, Any] = {"choices": choices.mode_choices()}
    sources: dict[str, Any] = {"choices": list(choices.sources)}
    categories: dict[str, Any] = {"choices": list(choices.categories)}
    if picked is not None:
        mode["value"] = picked[0] if picked[0] in choices.modes else choices.mode
        sources["value"] = [s for s in picked[1] or () if s in choices.sources]
        categories["value"] = [c for c in picked[2] or () if c in choices.categories]
    return (
        gr.update(**mode),
        gr.update(**sources, visible=len(choices.sources) > 1),
        gr.update(**categories, visible=len(choices.categories) > 1),
        gr.update(info=since_hint),
        gr.update(info=until_hint),
    )


def _search_options(gr: Any, choices: SearchChoices) -> list[Any]:
    """The collapsed Search options: mode, sources, categories, since, until (in that order,
    the order `respond` takes them). A facet with fewer than two values is not offered."""
    since_hint, until_hint = choices.date_hints()
    with gr.Accordion("Search options", open=False, elem_id="qa-options"):
        mode = gr.Radio(
            choices=choices.mode_choices(),
            value=choices.mode,
            label="Search by",
            elem_id="qa-mode",
        )
        with gr.Row():
            sources = gr.Dropdown(
                choices=list(choices.sources),
                value=[],
                multiselect=True,
                label="Sources",
                info="none picked: all",
                visible=len(choices.sources) > 1,
                elem_id="qa-sources-filter",
            )
            categories = gr.Dropdown(
                choices=list(choices.categories),
                value=[],
                multiselect=True,
                label="Categories",
                info="none picked: all",
                visible=len(choices.categories) > 1,
                elem_id="qa-categories-filter",
            )
        with gr.Row():
            since = gr.Textbox(
                label="Since", placeholder="YYYY-MM-DD", info=since_hint, elem_id="qa-since"
            )
            until = gr.Textbox(
                label="Until", placeholder="YYYY-MM-DD", info=until_hint, elem_id="qa-until"
            )
    return [mode, sources, categories, since, until]


def _chat(
    gr: Any,
    ask: Ask,
    examples: Sequence[str],
    choices: SearchChoices,
    concurrency: int,
    current: Current | None,
    public: bool = True,
) -> tuple[list[Any], list[Any]]:
    """The chat tab's components and events; the events, so others can follow them, and the
    Search options' components, so others can refresh their choices. `concurrency` questions
    are answered at once, the rest wait their turn (`benchmarks/concurrency.py`)."""
    view = _chat_layout(gr, examples, choices)
    turns = gr.State([])  # this browser session's conversation: never shared between users

    def on_ask(message: str, held: list[Turn], *picked: Any) -> Iterator[tuple[Any, ...]]:
        for now_turns, messages, panel in stream(ask, message, held, *picked, current=current):
            yield now_turns, messages, panel, ""

    outputs = [turns, view.chatbot, view.sources, view.textbox]
    common = {"concurrency_id": "ask", "concurrency_limit": concurrency}
    inputs = [view.textbox, turns, *view.options]
    events = [
        # With MCP on, the chat's endpoint stays callable but unlisted: its conversation is
        # browser state, and agents have the `ask` tool instead.
        view.textbox.submit(
            on_ask,
            inputs,
            outputs,
            api_name="ask",
            api_visibility="public" if public else "undocumented",
            **common,
        ),  # fmt: skip
        view.send.click(on_ask, inputs, outputs, api_visibility="private", **common),
    ]
    if view.picker is not None:

        def on_example(
            sample: list[str], held: list[Turn], *picked: Any
        ) -> Iterator[tuple[Any, ...]]:
            yield from on_ask(sample[0], held, *picked)

        events.append(
            view.picker.click(
                on_example,
                [view.picker, turns, *view.options],
                outputs,
                api_visibility="private",
                **common,
            )
        )
    view.clear.click(
        lambda: ([], [], chatview.render_placeholder(NO_SOURCES), ""),
        None,
        outputs,
        api_visibility="private",
    )
    return events, view.options


@dataclass(frozen=True)
class _ChatParts:
    """The chat tab's components that its events use."""

    chatbot: Any
    textbox: Any
    send: Any
    clear: Any
    options: list[Any]
    picker: Any  # the example questions, None without any
    sources: Any


def _chat_layout(gr: Any, examples: Sequence[str], choices: SearchChoices) -> _ChatParts:
    """The chat column (conversation, question box, buttons, search options, examples) beside
    the Sources panel."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Chat",
                elem_id="qa-chat",
                height=520,
                render_markdown=False,  # content is escaped HTML from chat_html
                sanitize_html=True,
                latex_delimiters=[],  # "$5 ... $10" in articles is not LaTeX
                feedback_options=None,
                placeholder="Ask a question about the articles; answers cite them as [n].",
            )
            with gr.Row(equal_height=True):
                textbox = gr.Textbox(
                    placeholder="Ask a question about the articles…",
                    show_label=False,
                    container=False,
                    elem_id="qa-question",
                    scale=6,
                    autofocus=True,
                )
                send = gr.Button(
                    "Send", variant="primary", elem_id="qa-send", scale=1, min_width=80
                )
                clear = gr.Button("New conversation", elem_id="qa-clear", scale=1, min_width=80)
            options = _search_options(gr, choices)
            picker = (
                gr.Dataset(
                    components=[gr.Textbox(visible=False)],
                    samples=[[q] for q in examples],
                    label="Example questions (click to ask)",
                    elem_id="qa-examples",
                )
                if examples
                else None
            )
        with gr.Column(scale=2):
            sources = gr.HTML(
                chatview.render_placeholder(NO_SOURCES),
                elem_id="qa-sources",
                container=True,
                padding=True,
                js_on_load=None,
            )
    return _ChatParts(chatbot, textbox, send, clear, options, picker, sources)


def _articles_tab(gr: Any, library: Library, header: Any, title: str) -> Any:
    """The Articles tab: list and search, upload, remove, and the Update index button; the
    update's event, so others can follow it."""
    status = gr.HTML(library.status(), elem_id="qa-lib-status", js_on_load=None)
    search = gr.Textbox(
        placeholder="Search titles, sources, files or ids…",
        show_label=False,
        elem_id="qa-lib-search",
    )
    table = gr.Dataframe(
        value=library.rows(),
        headers=ARTICLE_HEADERS,
        type="array",
        interactive=False,
        wrap=True,
        max_height=420,
        column_widths=["38%", "10%", "11%", "7%", "17%", "17%"],
        elem_id="qa-lib-table",
    )
    upload, remove_id, remove, update = _corpus_controls(gr)
    summary = gr.Textbox(
        label="What happened",
        lines=4,
        interactive=False,
        elem_id="qa-lib-summary",
    )

    def refreshed(message: str, query: str) -> tuple[str, str, list[list[Any]], str]:
        return message, library.status(), library.rows(query), library.header(title)

    def on_upload(paths: list[str] | None, query: str) -> tuple[Any, ...]:
        return (*refreshed(library.upload(paths), query), None)

    def on_remove(article_id: str, query: str) -> tuple[Any, ...]:
        return (*refreshed(library.remove(article_id), query), "")

    def on_update(query: str, progress: Any = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        return refreshed(library.update(lambda f, line: progress(f, desc=line)), query)

    def on_select(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[-1]) if row else ""

    # Gradio finds the event-data parameter by its annotation, which postponed evaluation
    # (`from __future__ import annotations`) leaves as a string it cannot resolve here.
    on_select.__annotations__["evt"] = gr.SelectData

    after = [summary, status, table, header]
    private = {"api_visibility": "private"}
    search.change(library.rows, search, table, **private)
    table.select(on_select, None, remove_id, **private)
    upload.upload(on_upload, [upload, search], [*after, upload], **private)
    remove.click(on_remove, [remove_id, search], [*after, remove_id], **private)
    # Its own queue: the chat's questions keep being answered while an update runs.
    return update.click(
        on_update, search, after, concurrency_id="update", concurrency_limit=1, **private
    )


def _corpus_controls(gr: Any) -> tuple[Any, Any, Any, Any]:
    """The upload box beside the remove and Update index buttons."""
    from qa.ingest.library import ARTICLE_SUFFIXES, MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES

    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            kinds = " ".join(ARTICLE_SUFFIXES)
            upload = gr.File(
                file_count="multiple",
                file_types=list(ARTICLE_SUFFIXES),
                label=f"Add articles ({kinds}; up to {MAX_UPLOAD_BYTES // 2**20} MB each, "
                f"{MAX_UPLOAD_FILES} at a time)",
                elem_id="qa-upload",
            )
        with gr.Column(scale=2):
            remove_id = gr.Textbox(
                label="Article to remove (click a row, or type its id)",
                elem_id="qa-remove-id",
            )
            remove = gr.Button("Remove from the corpus", variant="stop", elem_id="qa-remove")
            update = gr.Button("Update index", variant="primary", elem_id="qa-update")
    return upload, remove_id, remove, update


LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Gradio keeps every uploaded file in its temporary folder (also one posted straight to its
# upload endpoint, never added to the corpus): every hour, those older than an hour go.
UPLOAD_CACHE = (3600, 3600)


def access(settings: Settings) -> tuple[list[tuple[str, str]] | None, str | None]:
    """The logins the chat requires (None: none), and a warning when it is open beyond this
    machine without one."""
    logins = settings.logins() or None
    if logins or settings.host in LOOPBACK:
        return logins, None
    return None, (
        f"serving on {settings.host} without a login: anyone who can reach this machine can "
        "ask and change the corpus. Set QA_AUTH=user:password to require one."
    )


# Gradio checks the login on every data route but these two (measured: 200 without it).
# `/reset` does nothing and `/cancel` needs another session's secret ids, but a login should
# close every route it says it closes.
UNGUARDED_BY_GRADIO = ("/gradio_api/cancel", "/gradio_api/reset")


class LoginOnEveryRoute:
    """ASGI middleware: with a login set, the routes Gradio leaves open answer 401 without it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") in UNGUARDED_BY_GRADIO:
            from starlette.requests import Request
            from starlette.responses import JSONResponse

            gradio = scope["app"]  # Starlette puts the application here before middleware
            cookies = Request(scope).cookies
            token = cookies.get(f"access-token-{gradio.cookie_id}") or cookies.get(
                f"access-token-unsecure-{gradio.cookie_id}"
            )
            if gradio.auth and gradio.tokens.get(token) is None:
                response = JSONResponse({"detail": "Not authenticated"}, status_code=401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _demo(settings: Settings) -> Any:
    """The app for `settings`: the chat over the loaded engine, or, when the engine cannot
    load, a page that says what to do."""
    from qa.answer.engine import Engine
    from qa.surfaces.tools import make_tools

    try:
        engine = Engine.load(settings)
    except QAError as error:
        return build_ui(None, problem=str(error))
    engine.embedder.encode_query("warm-up")  # the first visitor should not wait for it
    if engine.embedder.queries.note:
        print(f"note: {engine.embedder.queries.note}.", file=sys.stderr)
    if not settings.corpus_named:  # manage the corpus the index was built from
        from qa.index.indexing import indexed_corpus

        settings = settings.with_(corpus=indexed_corpus(engine.index.data.manifest))
    return build_ui(
        engine.ask,
        examples=engine.examples(),
        corpus_info=engine.describe(),
        library=Library(settings, engine),
        choices=SearchChoices.of(engine),
        concurrency=settings.concurrency,
        current=lambda: (engine.index.folder.name, engine.index.data.articles),
        tools=make_tools(engine) if settings.mcp else (),
    )


def serve(settings: Settings) -> None:
    """Load the engine once and serve the chat on settings.host:settings.port until stopped.

    When the engine cannot load (no index, a damaged one...), the page explains what to do.
    """
    from starlette.middleware import Middleware

    from qa.ingest.library import MAX_UPLOAD_BYTES

    logins, warning = access(settings)  # before the slow part: a typo here fails at once
    if settings.mcp and logins:
        # measured: Gradio's MCP endpoint lists and runs its tools without the login
        raise UsageError(
            "--mcp cannot be combined with QA_AUTH: Gradio's MCP endpoint does not ask for the "
            "login, so it would open what the login closes. Serve the tools on loopback "
            "without QA_AUTH, or drop --mcp."
        )
    if settings.mcp:
        need("mcp", "mcp", "--mcp")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)

    demo = _demo(settings)
    try:
        demo.launch(
            server_name=settings.host,
            server_port=settings.port,
            share=False,
            css=CSS,
            head=HEAD,
            mcp_server=settings.mcp,
            max_file_size=MAX_UPLOAD_BYTES,
            auth=logins,
            app_kwargs={"middleware": [Middleware(LoginOnEveryRoute)]},
        )
    except OSError as error:  # Gradio's words for a port in use or an address it cannot bind
        raise QAError(
            f"Cannot serve on {settings.host}:{settings.port} ({_first_line(error)}): stop what "
            "uses that port or pass --port (QA_PORT), or fix --host (QA_HOST)."
        ) from None
