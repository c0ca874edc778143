"""What the chat shows of a conversation: each turn as it was answered, its sources, the
article viewer and the "Why these sources?" trace, as escaped HTML.

A `Turn` keeps its `Answer` (quotes, excerpts, spans) and the content hash of every article it
cites, as of the generation it came from. The chat is drawn again from its turns after every
question, so scrolling back after a re-index shows the same excerpts as before, marked where
the article has since changed or gone. Everything here is pure: strings in, strings out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.answer.compose import CLOSEST, Answer, Citation
from qa.ingest.corpus import Article

History = list[dict[str, Any]]
CLOSEST_HEADING = "The closest the articles come (may not answer)"
NOTHING_CLOSE = "No passage of the articles is on this topic."
PENDING = "Looking through the articles…"
_CITED_SENTENCE = re.compile(r".+?(?:\s*\[\d+\])+", re.DOTALL)  # text, then its [n] markers


@dataclass(frozen=True)
class Turn:
    """One exchange: the question, and its answer or the message that stood for one."""

    question: str
    answer: Answer | None = None
    message: str | None = None  # what was said instead of an answer (an error, a prompt)
    filters: str = ""  # the active filters, described
    generation: str = ""  # the index generation the answer came from
    hashes: dict[str, str] = field(default_factory=dict)  # cited article id -> content hash


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def chat_html(text: str) -> str:
    """Text for a chat bubble: escaped, line breaks kept (the Chatbot renders it as HTML)."""
    return esc(text).replace("\n", "<br>")


def highlight(excerpt: str, quote: str, start: int, end: int) -> str:
    """The excerpt as escaped HTML with `excerpt[start:end]` (the quote) wrapped in `<mark>`.

    Falls back to the quote's first occurrence when the offsets do not match it, and to no
    highlight when the quote is not in the excerpt at all.
    """
    if not (0 <= start < end <= len(excerpt) and excerpt[start:end] == quote):
        start = excerpt.find(quote) if quote else -1
        if start < 0:
            return esc(excerpt)
        end = start + len(quote)
    return f"{esc(excerpt[:start])}<mark>{esc(excerpt[start:end])}</mark>{esc(excerpt[end:])}"


def date_of(published: str | None) -> str | None:
    """The calendar date of an ISO date or timestamp (`2022-01-07T10:00:00` -> `2022-01-07`)."""
    if not published:
        return None
    return published.split("T", 1)[0]


def safe_url(url: str | None) -> str | None:
    if url and re.match(r"https?://", url, flags=re.IGNORECASE):
        return url
    return None


def _link(url: str | None) -> str:
    url = safe_url(url)
    if not url:
        return ""
    return (
        f'<div class="qa-link"><a href="{esc(url)}" target="_blank" rel="noopener noreferrer">'
        "open the article</a></div>"
    )


def render_citation(c: Citation, *, closest: bool = False, note: str = "", viewer: str = "") -> str:
    """One source card: `[n]`, title, date and source when known, the highlighted excerpt;
    `note` (already HTML) says the article changed since, `viewer` holds the whole article."""
    meta = " · ".join(esc(part) for part in (date_of(c.published), c.source) if part)
    classes = "qa-card qa-closest" if closest else "qa-card"
    return (
        f'<div class="{classes}" data-n="{c.n}">'
        f'<div class="qa-card-head"><span class="qa-n">[{c.n}]</span>'
        f'<span class="qa-title">{esc(c.title)}</span></div>'
        + (f'<div class="qa-meta">{meta}</div>' if meta else "")
        + note
        + f'<p class="qa-excerpt">{highlight(c.excerpt, c.quote, c.quote_start, c.quote_end)}</p>'
        + _link(c.url)
        + viewer
        + "</div>"
    )


# --- the whole article -----------------------------------------------------------------------


def quote_span(article: Article, c: Citation) -> tuple[int, int] | None:
    """Where the citation's quote is in the article's text (its excerpt is a substring)."""
    at = article.text.find(c.excerpt)
    if at < 0:
        found = article.text.find(c.quote) if c.quote else -1
        return (found, found + len(c.quote)) if found >= 0 else None
    return at + c.quote_start, at + c.quote_end


def render_article(
    article: Article, here: tuple[int, int] | None, others: Sequence[tuple[int, int]]
) -> str:
    """The whole article, escaped: title, date, source and link when known, the sentence
    `here` highlighted (`mark.qa-here`, scrolled into view when opened) and the answer's other
    quotes from this article marked (`mark.qa-also`)."""
    spans = sorted(
        {
            (s, e, "qa-here" if (s, e) == here else "qa-also")
            for s, e in [*others, *([here] if here else [])]
        }
    )
    body, at = [], 0
    for start, end, kind in spans:
        if start < at or not (0 <= start < end <= len(article.text)):
            continue  # overlapping or out of range: leave unmarked rather than garble
        body.append(esc(article.text[at:start]))
        body.append(f'<mark class="{kind}">{esc(article.text[start:end])}</mark>')
        at = end
    body.append(esc(article.text[at:]))
    meta = " · ".join(esc(x) for x in (date_of(article.published), article.source) if x)
    return (
        '<details class="qa-article"><summary>Read the whole article</summary>'
        f'<div class="qa-article-body"><h4>{esc(article.title)}</h4>'
        + (f'<div class="qa-meta">{meta}</div>' if meta else "")
        + _link(article.url)
        + f'<div class="qa-article-text">{"".join(body)}</div></div></details>'
    )


def viewers(answer: Answer, articles: Mapping[str, Article]) -> dict[int, str]:
    """The article viewer of each citation `n`, its own quote highlighted and the answer's
    other quotes from the same article marked."""
    cited = answer.citations
    spans: dict[int, tuple[int, int] | None] = {}
    for c in cited:
        article = articles.get(c.article_id)
        spans[c.n] = quote_span(article, c) if article else None
    found = {}
    for c in cited:
        article = articles.get(c.article_id)
        if article is None:
            continue
        others = [s for d in cited if d.article_id == c.article_id and (s := spans[d.n])]
        found[c.n] = render_article(article, spans[c.n], others)
    return found


# --- the Sources panel and the chat ----------------------------------------------------------


def render_placeholder(text: str, note: str = "") -> str:
    """The Sources panel when there is nothing to cite (`note`: the filters line, as HTML)."""
    return (
        f'<div class="qa-sources"><h3>Sources</h3>{note}<p class="qa-empty">{esc(text)}</p></div>'
    )


def render_sources(
    answer: Answer,
    filters: str = "",
    articles: Mapping[str, Article] | None = None,
    upto: int | None = None,
    empty: str = "Sources for each answer appear here.",
) -> str:
    """The Sources panel: the citations (the first `upto` while the answer streams in), each
    with its article viewer when `articles` is given, under a heading that says whether they
    answer or are the closest the articles come; a line names the filters of the question."""
    note = f'<p class="qa-filters">{esc(filters)}</p>' if filters else ""
    if answer.outcome == "none":
        return render_placeholder(NOTHING_CLOSE, note)
    if not answer.citations:
        return render_placeholder(empty)
    shown = viewers(answer, articles) if articles is not None else {}
    cited = answer.citations[:upto] if upto is not None else answer.citations
    closest = answer.outcome == "closest"
    cards = "".join(render_citation(c, closest=closest, viewer=shown.get(c.n, "")) for c in cited)
    heading = CLOSEST_HEADING if closest else "Sources"
    return f'<div class="qa-sources"><h3>{heading}</h3>{note}{cards}</div>'


def confidence_note(answer: Answer) -> str:
    """How close the call was: the confidence and the threshold it was held against."""
    conf = answer.confidence
    if conf is None:
        return ""
    return (
        f'<br><small class="qa-confidence">Confidence {conf.value:.2f} (it answers at '
        f"{conf.threshold:.2f} or more)</small>"
    )


def changed_note(turn: Turn, article_id: str, now: Mapping[str, Article] | None) -> str:
    """A mark on a source whose article is no longer as it was when the turn was answered."""
    if now is None or article_id not in turn.hashes:
        return ""
    article = now.get(article_id)
    if article is None:
        return '<div class="qa-changed">This article has since been removed from the index.</div>'
    if article.content_hash != turn.hashes[article_id]:
        return (
            '<div class="qa-changed">This article has changed since this answer: the excerpt '
            "is as it was then.</div>"
        )
    return ""


def render_trace(trace: dict | None) -> str:
    """The "Why these sources?" panel: the query asked, each passage's dense, keyword and fused
    scores and ranks, the best sentences' scores (quoted ones marked), the confidence against
    the threshold, and the timings."""
    if not trace:
        return ""
    rows = "".join(
        f"<tr><td>{p['rank']}</td><td>{esc(p['title'])}<br><small>{esc(p['chunk_id'])}</small>"
        f"</td><td>{p['fused']:.3f}</td><td>{p['dense']:.3f} (#{p['dense_rank'] or '–'})</td>"
        f"<td>{p['keyword']:.2f} (#{p['keyword_rank'] or '–'})</td></tr>"
        for p in trace.get("passages", [])
    )
    sentences = "".join(
        f'<li class="{"qa-quoted" if s["quoted"] else ""}">{s["score"]:+.2f} · '
        f"{esc(s['text'])}</li>"
        for s in trace.get("sentences", [])
    )
    conf = trace.get("confidence") or {}
    verdict = ""
    if conf:
        word = "answers" if conf["answers"] else "abstains"
        missing = ", ".join(conf.get("missing") or [])
        verdict = (
            f"<p>Confidence {conf['value']:.3f} against the threshold {conf['threshold']:.3f}: "
            f"it {word}." + (f" Not in any passage: {esc(missing)}." if missing else "") + "</p>"
        )
    asked = (
        f"<p>Searched for: <q>{esc(trace['query'])}</q> (the question read with the "
        "conversation)</p>"
        if trace.get("rewritten")
        else ""
    )
    condensed = trace.get("condensed")
    if condensed and condensed.get("query"):
        verdict_word = "used" if condensed["used"] else "not used: it retrieved less well"
        asked += (
            f"<p>The language model's rewrite: <q>{esc(condensed['query'])}</q> "
            f"({verdict_word})</p>"
        )
    timings = " · ".join(f"{esc(k)} {v} ms" for k, v in (trace.get("timings_ms") or {}).items())
    return (
        '<details class="qa-trace"><summary>Why these sources?</summary>'
        f"{asked}<p>Retrieval: {esc(str(trace.get('retrieval_mode', '')))}</p>"
        "<table><tr><th>#</th><th>passage</th><th>fused</th><th>dense</th><th>keyword</th></tr>"
        f"{rows}</table><p>Best sentences (quoted ones in bold):</p><ol>{sentences}</ol>"
        f"{verdict}<p><small>{timings}</small></p></details>"
    )


def reply_html(
    turn: Turn, now: Mapping[str, Article] | None = None, upto: int | None = None
) -> str:
    """The assistant's bubble for a turn: the answer (its first `upto` quotes while it streams
    in), how sure it is, what it searched for, its sources as they were, and the trace."""
    answer = turn.answer
    if answer is None:
        return chat_html(turn.message or "")
    if upto is not None and answer.citations:
        if answer.mode == "llm":  # the model's own sentences, each followed by its markers
            ends = [m.end() for m in _CITED_SENTENCE.finditer(answer.text)][:upto]
            shown = answer.text[: ends[-1]] if ends else ""
        else:
            shown = " ".join(f"{c.quote} [{c.n}]" for c in answer.citations[:upto])
            shown = f"{CLOSEST} {shown}" if answer.outcome == "closest" else shown
        return chat_html(shown) + f' <em class="qa-pending">{esc(PENDING)}</em>'
    parts = [chat_html(answer.text), confidence_note(answer)]
    if answer.mode == "llm":
        parts.append(
            '<br><small class="qa-mode">Written by the language model; each sentence was '
            "checked against the excerpt it cites.</small>"
        )
    parts.extend(f'<br><small class="qa-note">{esc(note)}</small>' for note in answer.notes)
    if answer.query and answer.query != answer.question:
        parts.append(f'<br><small class="qa-asked-as">Searched for: {esc(answer.query)}</small>')
    if answer.abstained and turn.filters:
        parts.append(
            f"<br><em>{esc(turn.filters)}. Clear them under Search options to search every "
            "article.</em>"
        )
    if answer.citations:
        cards = "".join(
            render_citation(c, closest=answer.abstained, note=changed_note(turn, c.article_id, now))
            for c in answer.citations
        )
        label = CLOSEST_HEADING if answer.abstained else "Sources"
        parts.append(
            f'<details class="qa-turn-sources"><summary>{label} of this answer</summary>'
            f"{cards}</details>"
        )
    parts.append(render_trace(answer.trace))
    return "".join(parts)


def render_history(turns: Sequence[Turn], now: Mapping[str, Article] | None = None) -> History:
    """The chat's messages, drawn from the turns against the articles as they are `now`."""
    messages: History = []
    for turn in turns:
        if turn.question:
            messages.append({"role": "user", "content": chat_html(turn.question)})
        messages.append({"role": "assistant", "content": reply_html(turn, now)})
    return messages
