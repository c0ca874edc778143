"""Two names that trade places between a claim and its source (`qa.answer.roles`)."""

from __future__ import annotations

import pytest

from qa.answer import llm, roles

TOKAYEV = "Tokayev, 68, asked Russian President Vladimir Putin for military assistance."


@pytest.mark.parametrize(
    ("claim", "source", "names"),
    [
        (  # issue 20's swapped roles: the aside ", 68," after a name is read past
            "Russian President Vladimir Putin asked Tokayev for military assistance.",
            TOKAYEV,
            ("Russian President Vladimir Putin", "Tokayev"),
        ),
        (
            "Saulnier came from two sets down to defeat Henman in the first round.",
            "Henman came from two sets down to defeat Saulnier in the first round last year.",
            ("Saulnier", "Henman"),
        ),
        (  # two numbers: which figure belongs to which
            "Revenues rose 11% and profits fell 4% in 2004.",
            "Revenues rose 4% and profits fell 11% in 2004.",
            ("11", "4"),
        ),
        (
            "In their last meeting, Italy beat the Irish in the 1994 World Cup Finals.",
            "In their last meeting, the Irish beat Italy in the 1994 World Cup Finals.",
            ("Italy", "Irish"),
        ),
    ],
)
def test_names_in_each_others_places_are_found(claim: str, source: str, names: tuple) -> None:
    assert roles.traded(claim, source) == names


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("Tokayev asked Russian President Vladimir Putin for military assistance.", TOKAYEV),
        ("Putin was asked by Tokayev for military assistance.", TOKAYEV),  # the passive
        (  # a possessive says the role another way
            "Gazprom's chairman Aleksey Miller attended the meeting.",
            "Aleksey Miller, chairman of Gazprom, attended the meeting.",
        ),
        (  # the same words around each name, in another order
            "The Aviator has 11 nominations, compared with seven for Million Dollar Baby.",
            "Million Dollar Baby has seven nominations while The Aviator has 11.",
        ),
        ("Standard & Poor's upgraded Pakistan a few weeks ago.", "Pakistan was upgraded by S&P."),
        (  # a number against a name is not a pair
            "Mirza, 18, lost 1-6, 4-6 to Williams in the third round.",
            "The 18-year-old Mirza lost to Williams 1-6,4-6 in the third round.",
        ),
    ],
)
def test_a_faithful_rewording_is_not_caught(claim: str, source: str) -> None:
    assert roles.traded(claim, source) is None


def test_the_llm_check_drops_a_claim_with_the_roles_swapped() -> None:
    swapped = "Russian President Vladimir Putin asked Tokayev for military assistance [1]."
    found = llm.check(swapped, [TOKAYEV])
    assert not found.kept
    assert found.dropped[0][1] == (
        "Russian President Vladimir Putin and Tokayev trade places with what it cites"
    )
    assert llm.check("Tokayev asked Putin for military assistance [1].", [TOKAYEV]).kept
