"""The loaded model and index behind one `ask()`: what the CLI and the chat both call.

The index is swapped live: before each question the engine reads `CURRENT` (one small file)
and, when a build has switched it to a new generation, loads that generation fully and only
then replaces its reference, so a question never sees a half-loaded or half-written index and
a running chat follows `qa index update` without a restart. Readers never take the writer lock.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from qa.answer import fitted, followup, llm, parts, reader
from qa.answer.compose import Answer, Policy, compose
from qa.answer.retrieval import NO_FILTERS, Filters, Hit, retrieve
from qa.config import MODES, Mode, Settings, choice
from qa.embed.embedding import Embedder
from qa.errors import QAError, UsageError
from qa.index import ann, calibration, store
from qa.index.indexing import manifest_expectations


@dataclass
class Engine:
    settings: Settings
    embedder: Embedder
    index: store.LoadedIndex  # the generation answering now; replaced whole by `refresh`
    # Why the newest generation could not be loaded (the previous one keeps answering).
    problem: str | None = field(default=None, compare=False)
    _failed: str | None = field(default=None, repr=False, compare=False)
    _swap: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # The language model that writes answers when one is configured (`llm`); None: extractive.
    generate: llm.Generate | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> Engine:
        """Load the index first (cheap to refuse), then the model if none was passed in."""
        store.read_manifest(settings.index)
        embedder = embedder or Embedder.load(
            settings.model, settings.precision, settings.query_runtime, settings.model_cache
        )
        index = _searching(
            store.load(settings.index, manifest_expectations(settings, embedder)), settings
        )
        embedder = _matching(embedder, index)
        generate = llm.from_settings(settings)
        return cls(settings, embedder, _calibrated(index, embedder), generate=generate)

    def refresh(self) -> store.LoadedIndex:
        """The index to answer from: the generation CURRENT names, loaded when it is new.

        A generation that fails to load (damaged, other settings) is not retried until CURRENT
        changes again; the one already loaded goes on answering and `problem` says why.
        """
        try:
            name = store.current_name(self.settings.index)
        except QAError as error:  # a damaged CURRENT: go on answering from the loaded one
            self.problem = str(error)
            return self.index
        if name is None or name == self._failed:
            return self.index
        if name == self.index.folder.name:
            self.problem = self._failed = None  # CURRENT is back on the loaded generation
            return self.index
        if not self._swap.acquire(blocking=False):
            return self.index  # another question is loading it: answer from the one we have
        try:
            loaded = store.load(
                self.settings.index, manifest_expectations(self.settings, self.embedder)
            )
        except QAError as error:
            self._failed, self.problem = name, str(error)
        else:
            loaded = _searching(loaded, self.settings)
            self.embedder = _matching(self.embedder, loaded)
            self.index, self.problem, self._failed = _calibrated(loaded, self.embedder), None, None
        finally:
            self._swap.release()
        return self.index

    @property
    def policy(self) -> Policy:
        """How answers are chosen: the settings' limits, the fitted model's thresholds unless
        QA_ABSTAIN_BELOW overrides the abstention one. Refused when the fitted model was
        fitted with another embedding model than the index's (searching alone never needs it)."""
        fitted.check_embedding_model(fitted.load(), self.embedder.name)
        return Policy(
            max_quotes=self.settings.max_quotes,
            threshold=self.threshold,
            reader=self.settings.reader,
        )

    @property
    def threshold(self) -> float:
        """The confidence under which the outcome is not "answer": QA_ABSTAIN_BELOW, else the
        reader's (`qa.answer.reader.THRESHOLD`) or, without it, the fitted model's."""
        if self.settings.abstain_below is not None:
            return self.settings.abstain_below
        if self.settings.reader:
            return reader.load().threshold
        return fitted.load().threshold

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The retrieval modes the loaded index supports (dense only without its BM25 part)."""
        return MODES if self.index.keyword is not None else ("dense",)

    def mode(self, requested: str | None = None) -> Mode:
        """The mode to use: the one asked for, else the setting's (dense when the index has
        no keyword part yet, so an index from before it keeps answering)."""
        mode = choice("mode", requested or self.settings.mode)
        if requested is None and mode not in self.modes:
            return "dense"
        return mode  # type: ignore[return-value]

    def search(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters = NO_FILTERS,
    ) -> tuple[np.ndarray, list[Hit]]:
        """The question's vector and its top-k chunks: retrieval alone, for evaluation."""
        _, query, hits, _ = self._retrieve(question, k, mode, filters)
        return query, hits

    def ask(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters = NO_FILTERS,
        history: Sequence[object] = (),
    ) -> Answer:
        """Retrieve, score sentences and compose; timings in milliseconds ride along.

        `history` holds the conversation's earlier questions, oldest first: a follow-up is
        retrieved for as the question it stands for (`qa.answer.followup`; `Answer.query` says what
        that was), its sentences scored against the question as asked."""
        question = checked_question(question)
        history = checked_history(history)
        query_text = followup.rewrite(question, history)
        index, query, hits, timings = self._retrieve(query_text, k, mode, filters)
        condensed: dict | None = None
        if self.generate is not None and history:
            t = time.perf_counter()
            found, condensed = self._condensed(question, history, hits, k, mode, filters)
            timings["condense"] = round((time.perf_counter() - t) * 1000, 2)
            if found is not None:
                query_text, (index, query, hits) = condensed["query"], found
        t = time.perf_counter()
        split = self.question_parts(query_text, k, mode, filters)
        timings["parts"] = round((time.perf_counter() - t) * 1000, 2)
        t = time.perf_counter()
        answer = compose(question, query, hits, index, self.policy, split)
        timings["answer"] = round((time.perf_counter() - t) * 1000, 2)
        if self.generate is not None:
            t = time.perf_counter()
            answer = llm.compose(query_text, hits, index, self.generate, answer)
            timings["llm"] = round((time.perf_counter() - t) * 1000, 2)
        timings["total"] = round(sum(timings.values()), 2)
        trace = {
            "query": query_text,
            "rewritten": query_text != question,
            "retrieval_mode": self.mode(mode),
            **({"condensed": condensed} if condensed else {}),
            **(answer.trace or {}),
            "timings_ms": timings,
        }
        return replace(answer, question=question, query=query_text, timings_ms=timings, trace=trace)

    def question_parts(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters = NO_FILTERS,
    ) -> tuple[parts.Part, ...]:
        """A question that asks two things (`qa.answer.parts`), each part with its own retrieval;
        none for a question that asks one, or without the reader, which reads the parts."""
        if not self.settings.reader:
            return ()
        found = []
        for text in parts.split(question):
            _, query, hits, _ = self._retrieve(text, k, mode, filters)
            found.append(parts.Part(text, query, hits))
        return tuple(found)

    def _condensed(
        self,
        question: str,
        history: list[str],
        hits: list[Hit],
        k: int | None,
        mode: str | None,
        filters: Filters,
    ) -> tuple[tuple | None, dict]:
        """The language model's standalone version of a follow-up, and its retrieval when it
        finds a passage at least as close (by cosine) as the rule-based rewrite's best: a
        rewrite that loses the subject retrieves worse and is not used."""
        try:
            text = llm.condense(question, history, self.generate)  # type: ignore[arg-type]
            text = checked_question(text)
        except (llm.LLMUnavailable, UsageError) as error:
            return None, {"query": None, "used": False, "why": str(error)}
        index, query, found, _ = self._retrieve(text, k, mode, filters)
        best = max((h.dense for h in found), default=-1.0)
        rule = max((h.dense for h in hits), default=-1.0)
        used = bool(found) and best >= rule
        summary = {"query": text, "used": used, "best_cosine": round(best, 4),
                   "rule_best_cosine": round(rule, 4)}  # fmt: skip
        return ((index, query, found) if used else None), summary

    def _retrieve(
        self, question: str, k: int | None, mode: str | None, filters: Filters
    ) -> tuple[store.LoadedIndex, np.ndarray, list[Hit], dict[str, float]]:
        """One generation for the whole question (even if a swap comes meanwhile), the
        question's vector, its top-k chunks, and what embedding and retrieval took."""
        index = self.refresh()
        chosen = self.mode(mode)
        t0 = time.perf_counter()
        query = self.embedder.encode_query(question)
        t1 = time.perf_counter()
        hits = retrieve(index, query, question, k or self.settings.top_k, chosen, filters)
        t2 = time.perf_counter()
        timings = {"embed": round((t1 - t0) * 1000, 2), "retrieve": round((t2 - t1) * 1000, 2)}
        return index, query, hits, timings

    def facets(self) -> dict[str, list[str]]:
        """What the filters can choose from: sources, categories, first and last dates."""
        articles = self.refresh().data.articles.values()
        days = sorted({a.published[:10] for a in articles if a.published})
        return {
            "sources": sorted({a.source for a in articles if a.source}, key=str.casefold),
            "categories": sorted({a.category for a in articles if a.category}, key=str.casefold),
            "dates": [days[0], days[-1]] if days else [],
        }

    def examples(self) -> list[str]:
        """Questions to offer in the chat: QA_EXAMPLES when set, else one per first articles."""
        if self.settings.example_questions:
            return self.settings.example_questions
        titles = [a.title for a in list(self.index.data.articles.values())[:3]]
        return [f"What happened: {_shorten(t)}?" for t in titles]

    def describe(self) -> str:
        m = self.index.data.manifest
        counts = m.get("counts", {})
        articles = counts.get("articles", 0)
        return (
            f"{articles} article{'s' if articles != 1 else ''} · {counts.get('chunks', 0)} "
            f"passages · built {m.get('built_at', '?')[:16].replace('T', ' ')} · {m.get('model')}"
        )


# Longer than any question (the model reads 256 tokens, about 1,000 characters); a megabyte
# pasted into the chat would hold it for seconds of keyword scoring.
MAX_QUESTION_CHARS = 2_000


# Terminal escape sequences (colours, cursor moves) and the characters that reorder or hide
# text; what is left of the control characters becomes a space.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def checked_question(question: object, what: str = "The question") -> str:
    """The question as text a reader can see (escape sequences and control characters
    removed, spaces trimmed), or a UsageError saying what is wrong with `what`."""
    if not isinstance(question, str):
        raise UsageError(f"{what} is not text: send each question as a string.")
    question = " ".join(_CONTROLS.sub(" ", _ESCAPES.sub("", question)).split())
    if not question:
        raise UsageError(f"{what} is empty: type a question about the articles.")
    if len(question) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"{what} is {len(question):,} characters long, over the limit of "
            f"{MAX_QUESTION_CHARS:,}: ask it in fewer words."
        )
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, passed on as surrogate escapes
        raise UsageError(
            f"{what} is not valid UTF-8 text: retype it or fix its encoding."
        ) from None
    return question


def checked_history(history: object) -> list[str]:
    """The earlier questions a follow-up is read with: each checked, a bad one named by its
    place; only the last `followup.MAX_TURNS` are kept (the window every reader of history
    uses)."""
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise UsageError("The history is not a list: send the earlier questions as a list.")
    n = len(history)
    checked = [checked_question(h, f"History item {i} of {n}") for i, h in enumerate(history, 1)]
    return checked[-followup.MAX_TURNS :]


def _searching(index: store.LoadedIndex, settings: Settings) -> store.LoadedIndex:
    """The index with the settings' search-time knobs (HNSW efSearch, IVF nprobe) set."""
    ann.configure(index.faiss_index, settings.ef_search, settings.nprobe)
    return index


def _matching(embedder: Embedder, index: store.LoadedIndex) -> Embedder:
    """The embedder in the precision the index was built with, so what it encodes for the
    index (calibration probes, updated articles) is encoded as its passages were (an index from
    before precision was recorded is fp32)."""
    return embedder.with_precision(index.data.manifest.get("precision", "fp32"))


def _calibrated(index: store.LoadedIndex, embedder: Embedder) -> store.LoadedIndex:
    """The index with its background measured, when its manifest predates keeping it."""
    if index.background is not None:
        return index
    return replace(index, background=calibration.measure(index.data.vectors, embedder))


def _shorten(title: str, words: int = 9) -> str:
    parts = title.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
