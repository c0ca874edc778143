"""A claim that says the opposite of its source in other words (`qa.answer.opposites`)."""

from __future__ import annotations

import pytest

from qa.answer import llm
from qa.answer.opposites import reversed_direction

LSE = "Last week, the LSE rejected a takeover proposal from German rival Deutsche Boerse."


@pytest.mark.parametrize(
    ("claim", "source", "word"),
    [
        ("Last week, the LSE accepted a takeover proposal from Deutsche Boerse.", LSE, "accepted"),
        (
            "Output in the production sector grew 0.5%.",
            "Output in the production sector contracted 0.5%, the second quarterly fall in a row.",
            "grew",
        ),
        (
            "BP said it was cutting its dividend by 26%.",
            "BP added that it was increasing its dividend by 26%.",
            "cutting",
        ),
    ],
)
def test_the_opposite_in_other_words_is_found(claim: str, source: str, word: str) -> None:
    assert reversed_direction(claim, source, source) == word


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("The LSE turned down the German offer.", LSE),  # no listed word in the claim
        ("The LSE refused the offer from Deutsche Boerse.", LSE),  # the same direction
        ("Exports rose 30% this year.", "Inflation fell below 10% while exports are up 30%."),
        ("Yukos' unit was bought by Baikal.", "Yukos' unit was sold to Baikal."),  # a passive
        (  # the direction is said by another sentence of what it cites
            "France Telecom has cut its debt to 43.9bn euros.",
            "France Telecom's debt soared to 72bn euros. The firm has since cut it to 43.9bn.",
        ),
    ],
)
def test_a_faithful_wording_is_not_caught(claim: str, source: str) -> None:
    sentence = source.split(". ")[0]
    assert reversed_direction(claim, sentence, source) is None


def test_the_llm_check_drops_an_antonym_the_not_rule_cannot_see() -> None:
    found = llm.check("The LSE accepted the takeover proposal from Deutsche Boerse [1].", [LSE])
    assert not found.kept
    assert found.dropped[0][1] == "it says 'accepted' where what it cites says the opposite"
