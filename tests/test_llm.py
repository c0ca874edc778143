"""Answers written by a language model: the check, the client against a scripted
OpenAI-compatible server process, and the bundled small model for real."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from qa.answer import llm
from qa.config import Settings
from qa.errors import QAError
from tests.test_browser import _free_port

EXCERPTS = [
    "More than 4,000 people have reportedly been detained by the authorities.",
    "The CSTO was founded in 1999 and this is its first joint military deployment.",
]
DETAINED = "How many people have been detained?"


# --- the check -------------------------------------------------------------------------------


def test_a_supported_cited_sentence_is_kept() -> None:
    found = llm.check("More than 4,000 people have been detained [1].", EXCERPTS)
    assert found.kept == [("More than 4,000 people have been detained.", [1])]
    assert not found.dropped


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("More than 4,000 people were detained [3].", "cites excerpt 3, which was not given"),
        ("More than 4,000 people were detained.", "cites no excerpt"),
        ("More than 5,000 people were detained [1].", "5000 is not in what it cites"),
        ("Protesters stormed the parliament building at night [1].", "of its words are in"),
        ("The CSTO is a military alliance [1].", "CSTO is not named"),  # [2]'s, not [1]'s
        ("Some five thousand people were detained [1].", "is not in what it cites"),
        ("More than 4,000 people were detained by Nazarbayev [1].", "Nazarbayev is not named"),
        ("More than 4,000 people have not been detained [1].", "says not where"),
    ],
)
def test_an_unsupported_sentence_is_dropped_with_the_reason(output: str, reason: str) -> None:
    found = llm.check(output, EXCERPTS)
    assert not found.kept and reason in found.dropped[0][1]


@pytest.mark.parametrize(
    ("output", "excerpt"),
    [
        ("Tokayev is 68 years old [1].", "Tokayev, 68, asked Russian President Vladimir Putin."),
        ("Two people were hurt [1].", "2 people were hurt on Monday."),
        ("Mr Brown spoke at the conference [1].", "Gordon Brown spoke at the conference."),
        ("He did not attend [1].", "He did not attend the meeting, aides said."),
    ],
)
def test_a_faithful_paraphrase_is_kept(output: str, excerpt: str) -> None:
    found = llm.check(output, [excerpt])
    assert found.kept and not found.dropped, found.dropped


def test_the_checker_reads_who_did_what_where_no_rule_can() -> None:
    """A claim of a held-out training file (never trained on): the same names and words as its
    excerpt, the roles swapped."""
    excerpt = (
        "Robinson picked up the injury in the 19-13 defeat to Ireland at Lansdowne Road on "
        'Saturday. And coach Andy Robinson said: "I am hugely disappointed for Jason.'
    )
    swapped = "Jason Robinson said he was hugely disappointed for coach Andy Robinson [1]."
    found = llm.check(swapped, [excerpt])
    assert not found.kept and "the checker does not read it" in found.dropped[0][1]
    assert llm.contradicted(swapped.removesuffix(" [1]."), excerpt) is None  # no rule sees it
    faithful = llm.check(
        "Coach Andy Robinson said he was hugely disappointed for Jason [1].", [excerpt]
    )
    assert faithful.kept and not faithful.dropped


def test_a_name_that_opens_the_claim_must_be_in_the_excerpt_it_cites() -> None:
    """Issue 20's wrong person: the claim gives Tokayev's request to Nazarbayev, whom only the
    other excerpt names. No rule reads an opening word as a name by itself; the excerpts do."""
    tokayev = "Tokayev, 68, asked Russian President Vladimir Putin for military assistance."
    nazarbayev = "Media reports said Nazarbayev, 81, flew out of Kazakhstan on a private jet."
    wrong = "Nazarbayev asked Russian President Vladimir Putin for military assistance [1]."
    found = llm.check(wrong, [tokayev, nazarbayev])
    assert not found.kept and found.dropped[0][1] == "Nazarbayev is not named in what it cites"
    right = llm.check(
        "Nazarbayev flew out of Kazakhstan on a private jet [2].", [tokayev, nazarbayev]
    )
    assert right.kept and not right.dropped


def test_the_checker_records_what_it_was_made_from_and_its_fitted_thresholds() -> None:
    from qa.answer import reader

    meta = reader.load("checker").meta
    assert meta["name"] == "checker" and "MiniLM" in meta["base_model"]
    assert len(meta["data_sha256"]) == 16 and len(meta["code_sha256"]) == 16
    assert meta["supports_fitted_on"] and -10 < meta["supports_above"] < 10
    assert 0 <= meta["words_at_least"] < 1


def test_not_found_and_a_marker_on_its_own_are_understood() -> None:
    assert llm.check("NOT FOUND", EXCERPTS).said_not_found
    found = llm.check("The CSTO was founded in 1999. [2]", EXCERPTS)
    assert found.kept == [("The CSTO was founded in 1999.", [2])]


# --- against a scripted server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    script = Path(__file__).parent / "llm_server.py"
    proc = subprocess.Popen([sys.executable, str(script), str(port)])
    url = f"http://127.0.0.1:{port}/v1"
    import httpx

    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.post(url + "/chat/completions", json={"messages": [{"content": ""}]})
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the test LLM server did not start"
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _engine(seed_engine, url: str, model: str, timeout: float = 2.0):
    settings = seed_engine.settings.with_(llm_url=url, llm_model=model, llm_timeout=timeout)
    return replace(seed_engine, generate=llm.from_settings(settings))


def _contract(obj: dict) -> None:
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", obj["answer"])}
    assert markers == {c["n"] for c in obj["citations"]}
    for c in obj["citations"]:
        assert c["quote"] and c["quote"] in c["excerpt"]


def test_a_good_completion_is_the_answer(seed_engine, server: str) -> None:
    answer = _engine(seed_engine, server, "good").ask(DETAINED)
    obj = answer.to_json()
    assert obj["mode"] == "llm" and not obj["notes"] and not obj["abstained"]
    assert "[1]" in obj["answer"]
    _contract(obj)


def test_an_unsupported_sentence_is_left_out_and_the_answer_says_so(
    seed_engine, server: str
) -> None:
    obj = _engine(seed_engine, server, "partly").ask(DETAINED).to_json()
    assert obj["mode"] == "llm" and "moon" not in obj["answer"]
    assert "1 sentence of the language model's answer left out" in obj["notes"][0]
    _contract(obj)


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("made-up-citation", "cites excerpt 7, which was not given"),
        ("unsupported", "not in what it cites"),
        ("uncited", "cites no excerpt"),
        ("garbage", "None of the language model's sentences"),
        ("not-found", "found no answer in the passages"),
        ("slow", "no answer from"),
        ("error", "HTTP 500"),
        ("not-json", "not a completion"),
        ("trickle", "no answer from"),
        ("huge", "sent more than 262,144 bytes"),
    ],
)
def test_a_bad_completion_falls_back_to_the_extractive_answer(
    seed_engine, server: str, model: str, says: str
) -> None:
    extractive = seed_engine.ask(DETAINED)
    answer = _engine(seed_engine, server, model, timeout=1.0).ask(DETAINED)
    assert answer.mode == "extractive" and answer.text == extractive.text
    assert says in answer.notes[0] and "This is the extractive answer" in answer.notes[0]
    assert "[7]" not in answer.text


def test_the_whole_call_ends_within_the_timeout_whatever_the_server_does(server: str) -> None:
    generate = llm.openai_compatible(server, "trickle", "", timeout=1.5)
    started = time.monotonic()
    with pytest.raises(llm.LLMUnavailable, match="within 1.5 s"):
        generate([{"role": "user", "content": "Who?"}])
    assert time.monotonic() - started < 2.5


def test_a_follow_up_is_condensed_by_the_model_when_that_retrieves_as_well(
    seed_engine, server: str
) -> None:
    history = ["Who did Tokayev ask for military help?"]
    answer = _engine(seed_engine, server, "good").ask("How old is he?", history=history)
    condensed = answer.trace["condensed"]
    assert condensed["used"] and condensed["best_cosine"] >= condensed["rule_best_cosine"]
    assert answer.query == "How old is he? (Who did Tokayev ask for military help?)"
    assert answer.timings_ms["condense"] > 0


def test_a_condensed_question_that_retrieves_worse_is_not_used(seed_engine, server: str) -> None:
    history = ["Who did Tokayev ask for military help?"]
    answer = _engine(seed_engine, server, "garbage").ask("How old is he?", history=history)
    assert answer.trace["condensed"] == {
        "query": "}}{{ ### lorem ipsum", "used": False,
        "best_cosine": answer.trace["condensed"]["best_cosine"],
        "rule_best_cosine": answer.trace["condensed"]["rule_best_cosine"],
    }  # fmt: skip
    assert answer.query.startswith("How old is he? Tokayev")  # the rules' rewrite
    failing = _engine(seed_engine, server, "error").ask("How old is he?", history=history)
    assert (
        not failing.trace["condensed"]["used"] and "HTTP 500" in failing.trace["condensed"]["why"]
    )


def test_an_unreachable_server_is_a_note_not_a_failure(seed_engine) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    answer = _engine(seed_engine, url, "good").ask(DETAINED)
    assert answer.mode == "extractive" and "cannot reach" in answer.notes[0]


def test_an_unknown_llm_setting_is_refused() -> None:
    with pytest.raises(QAError, match="QA_LLM"):
        llm.from_settings(Settings(llm="gpt-17"))


# --- the bundled small model, for real -------------------------------------------------------


@pytest.mark.slow
def test_the_bundled_small_model_answers_or_falls_back_within_the_contract(seed_engine) -> None:
    engine = replace(seed_engine, generate=llm.from_settings(Settings(llm="smollm2")))
    for question in (DETAINED, "When was the CSTO founded?", "Who did Tokayev ask for help?"):
        obj = engine.ask(question).to_json()
        assert obj["mode"] in ("llm", "extractive")
        if obj["mode"] == "extractive":
            assert "This is the extractive answer" in obj["notes"][0]
        _contract(obj)
        assert obj["timings_ms"]["llm"] > 0
