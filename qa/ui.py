"""The Gradio chat: a thin shell over `Engine.ask`.

Every callback is a plain function of plain values (`respond`, `render_sources`) so tests can call
it without a server. Gradio itself is imported only inside `build_ui` and `serve`, so importing
this module stays cheap. All article text is HTML-escaped here before it reaches the page.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qa.answer import Answer, Citation
from qa.errors import QAError

if TYPE_CHECKING:
    import gradio as gr

    from qa.config import Settings

Ask = Callable[[str], Answer]
History = list[dict[str, Any]]

EMPTY_QUESTION = "Please type a question about the articles."
RELATED_HEADING = "Related, but not an answer"
NO_SOURCES = "Sources for each answer appear here."
FOOTER = (
    "Answers quote the articles word for word; <b>[n]</b> points to the numbered source on the "
    "right, its quoted sentence highlighted. Everything runs on this machine."
)

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
.qa-card.qa-related { opacity: .85; border-style: dashed; }
.qa-card-head { font-weight: 600; }
.qa-n { color: var(--color-accent); margin-right: .3rem; }
.qa-meta { color: var(--body-text-color-subdued); font-size: .8rem; margin: .1rem 0 .4rem 0; }
.qa-excerpt { font-size: .9rem; line-height: 1.45; margin: 0; white-space: pre-wrap; }
.qa-excerpt mark { background: #ffe58a; color: inherit; padding: 0 .1rem; border-radius: 3px; }
.qa-link { font-size: .8rem; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def highlight(excerpt: str, quote: str, start: int, end: int) -> str:
    """The excerpt as escaped HTML with `excerpt[start:end]` (the quote) wrapped in `<mark>`.

    Falls back to the quote's first occurrence when the offsets do not match it, and to no
    highlight when the quote is not in the excerpt at all.
    """
    if not (0 <= start < end <= len(excerpt) and excerpt[start:end] == quote):
        start = excerpt.find(quote) if quote else -1
        if start < 0:
            return _esc(excerpt)
        end = start + len(quote)
    return f"{_esc(excerpt[:start])}<mark>{_esc(excerpt[start:end])}</mark>{_esc(excerpt[end:])}"


def _date(published: str | None) -> str | None:
    """The calendar date of an ISO date or timestamp (`2022-01-07T10:00:00` -> `2022-01-07`)."""
    if not published:
        return None
    return published.split("T", 1)[0]


def _safe_url(url: str | None) -> str | None:
    if url and re.match(r"https?://", url, flags=re.IGNORECASE):
        return url
    return None


def render_citation(c: Citation, *, related: bool = False) -> str:
    """One source card: `[n]`, title, date and source when known, the highlighted excerpt."""
    meta = " · ".join(_esc(part) for part in (_date(c.published), c.source) if part)
    url = _safe_url(c.url)
    link = (
        f'<div class="qa-link"><a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">'
        "open the article</a></div>"
        if url
        else ""
    )
    classes = "qa-card qa-related" if related else "qa-card"
    return (
        f'<div class="{classes}" data-n="{c.n}">'
        f'<div class="qa-card-head"><span class="qa-n">[{c.n}]</span>'
        f'<span class="qa-title">{_esc(c.title)}</span></div>'
        + (f'<div class="qa-meta">{meta}</div>' if meta else "")
        + f'<p class="qa-excerpt">{highlight(c.excerpt, c.quote, c.quote_start, c.quote_end)}</p>'
        + link
        + "</div>"
    )


def render_sources(answer: Answer) -> str:
    """The Sources panel: the citations, or for an abstention the related passages."""
    if answer.abstained:
        cards = "".join(render_citation(c, related=True) for c in answer.related)
        body = cards or '<p class="qa-empty">No passage came close.</p>'
        return f'<div class="qa-sources"><h3>{RELATED_HEADING}</h3>{body}</div>'
    if not answer.citations:
        return render_placeholder(NO_SOURCES)
    cards = "".join(render_citation(c) for c in answer.citations)
    return f'<div class="qa-sources"><h3>Sources</h3>{cards}</div>'


def render_placeholder(text: str) -> str:
    """The Sources panel when there is nothing to cite."""
    return f'<div class="qa-sources"><h3>Sources</h3><p class="qa-empty">{_esc(text)}</p></div>'


def chat_html(text: str) -> str:
    """Text for a chat bubble: escaped, line breaks kept (the Chatbot renders it as HTML)."""
    return _esc(text).replace("\n", "<br>")


def respond(ask: Ask, message: str, history: History | None) -> tuple[History, str]:
    """Ask one question: the chat history with the exchange appended, and the Sources panel.

    An empty question gets a gentle prompt; a `QAError` is shown as its message, not raised.
    """
    history = list(history or [])
    question = (message or "").strip()
    if not question:
        history.append({"role": "assistant", "content": chat_html(EMPTY_QUESTION)})
        return history, render_placeholder(NO_SOURCES)
    history.append({"role": "user", "content": chat_html(question)})
    try:
        answer = ask(question)
    except QAError as error:
        history.append({"role": "assistant", "content": chat_html(str(error))})
        return history, render_placeholder("No sources: the question could not be answered.")
    reply = chat_html(answer.text)
    if answer.abstained and answer.related:
        reply += f"<br><em>The closest passages are under “{RELATED_HEADING}”.</em>"
    history.append({"role": "assistant", "content": reply})
    return history, render_sources(answer)


def _header(title: str, corpus_info: str) -> str:
    info = f'<div class="qa-info">{_esc(corpus_info)}</div>' if corpus_info else ""
    return f"<h1>{_esc(title)}</h1>{info}"


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
) -> gr.Blocks:
    """The app, not launched. With `ask=None` it shows `problem` instead of the chat."""
    import gradio as gr

    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.HTML(_header(title, corpus_info), elem_id="qa-header", js_on_load=None)
        if ask is None:
            gr.HTML(
                _problem_html(problem or "The question engine could not be loaded."),
                elem_id="qa-problem",
                js_on_load=None,
            )
            return demo
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
                    clear = gr.Button("Clear", elem_id="qa-clear", scale=1, min_width=80)
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
                    render_placeholder(NO_SOURCES),
                    elem_id="qa-sources",
                    container=True,
                    padding=True,
                    js_on_load=None,
                )
        gr.HTML(FOOTER, elem_id="qa-footer", js_on_load=None)

        def on_ask(message: str, history: History) -> tuple[History, str, str]:
            new_history, panel = respond(ask, message, history)
            return new_history, panel, ""

        outputs = [chatbot, sources, textbox]
        common = {"concurrency_id": "ask", "concurrency_limit": 1}
        textbox.submit(on_ask, [textbox, chatbot], outputs, api_name="ask", **common)
        send.click(on_ask, [textbox, chatbot], outputs, api_visibility="private", **common)
        if picker is not None:

            def on_example(sample: list[str], history: History) -> tuple[History, str, str]:
                return on_ask(sample[0], history)

            picker.click(on_example, [picker, chatbot], outputs, api_visibility="private", **common)
        clear.click(
            lambda: ([], render_placeholder(NO_SOURCES), ""),
            None,
            outputs,
            api_visibility="private",
        )
    return demo


def _offline_environment() -> None:
    """No analytics, no telemetry, no hub look-ups; set before gradio or the model is imported."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def serve(settings: Settings) -> None:
    """Load the engine once and serve the chat on settings.host:settings.port until stopped.

    When the engine cannot load (no index, a damaged one...), the page explains what to do.
    """
    _offline_environment()
    from qa.engine import Engine

    try:
        engine = Engine.load(settings)
    except QAError as error:
        demo = build_ui(None, problem=str(error))
    else:
        demo = build_ui(
            engine.ask,
            examples=engine.examples(),
            corpus_info=engine.describe(),
        )
    demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        css=CSS,
    )
