"""Questions that ask two things: split by form, each part retrieved, read and quoted."""

from __future__ import annotations

import pytest

from qa.answer.engine import Engine
from qa.answer.parts import split


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How many Bafta nominations did The Aviator get, and how many Oscars did it win?",
            ("How many Bafta nominations did The Aviator get?", "How many Oscars did it win?"),
        ),
        (
            "Which lost more: Solidere after the assassination, or Petrel Resources?",
            (
                "Which lost more: Solidere after the assassination?",
                "Which lost more: Petrel Resources?",
            ),
        ),
        (
            "Who is older, Keanu Reeves or Christina Applegate?",
            ("Who is older: Keanu Reeves?", "Who is older: Christina Applegate?"),
        ),
        (
            "Compare the UK users counted by Ofcom with the US lines counted by the FCC: how many?",
            ("the UK users counted by Ofcom?", "the US lines counted by the FCC?"),
        ),
        (
            "How large was the Yukos tax bill, and with which state firm is Gazprom to merge?",
            ("How large was the Yukos tax bill?", "With which state firm is Gazprom to merge?"),
        ),
        (
            "Which actress won best actress both in London and from the critics in Los Angeles?",
            (
                "Which actress won best actress in London?",
                "Which actress won best actress from the critics in Los Angeles?",
            ),
        ),
        (
            "Lord Goldsmith: whom will he consult, and which barrister's letter did he receive?",
            (
                "Lord Goldsmith: Whom will he consult?",
                "Lord Goldsmith: Which barrister's letter did he receive?",
            ),
        ),
    ],
)
def test_the_forms_that_ask_two_things_are_split(question: str, parts: tuple[str, ...]) -> None:
    assert split(question) == parts


@pytest.mark.parametrize(
    ("lead", "first", "second"),
    [
        (
            "Hoddle and Strachan both managed Southampton.",
            "Whom did Hoddle succeed at Wolves",
            "whom would Strachan replace?",
        ),
        # a part naming nothing stands with the statement alone, not with the part before
        (
            "Hewitt announced the retirement age and the nuclear waste plan.",
            "What will the retirement age be",
            "where is that waste stored now?",
        ),
    ],
)
def test_a_statement_before_the_question_goes_with_each_part(
    lead: str, first: str, second: str
) -> None:
    assert split(f"{lead} {first}, and {second}") == (
        f"{lead} {first}?",
        f"{lead} {second[0].upper()}{second[1:]}",
    )


def test_a_part_naming_nothing_keeps_the_part_before_it() -> None:
    first, second = split("When did Aguilera and Bratman marry, and where was the wedding held?")
    assert first == "When did Aguilera and Bratman marry?"
    assert second == "When did Aguilera and Bratman marry? Where was the wedding held?"


@pytest.mark.parametrize(
    "question",
    [
        "How old is Tokayev?",
        "What did he say and why?",  # "why?" alone is no question
        "Why could Radcliffe not run both London and Boston?",  # one reason asked
        "When did Nelly hold both the number one and two spots in the chart?",
        "Goldsmith on the hunting ban: whom will he consult?",  # a topic, one question
        "Did Tokayev and Putin meet?",
    ],
)
def test_a_question_asking_one_thing_is_not_split(question: str) -> None:
    assert split(question) == ()


def test_each_part_is_answered_with_its_own_quote(seed_engine: Engine) -> None:
    answer = seed_engine.ask("How old is Nazarbayev, and when was the CSTO founded?")
    assert answer.trace["parts"] == ["How old is Nazarbayev?", "When was the CSTO founded?"]
    assert len(answer.citations) == 2
    assert "81" in answer.citations[0].quote and "1999" in answer.citations[1].quote


def test_without_the_reader_questions_are_not_split(seed_settings, embedder) -> None:
    engine = Engine.load(seed_settings.with_(reader=False), embedder)
    answer = engine.ask("How old is Nazarbayev, and when was the CSTO founded?")
    assert answer.trace["parts"] == []
