"""Words, names and numbers (`qa.text`): the one definition that BM25, the answer features, the
follow-ups and the LLM check share."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa import text
from qa.answer.features import answer_items


def test_a_sentence_opening_word_is_a_name_only_where_openings_are_asked_for() -> None:
    sentence = "Media reports said Nazarbayev, 81, left. On Saturday his aide was in Nur-Sultan."
    assert text.names(sentence) == ["Media", "Nazarbayev", "Saturday", "Nur-Sultan"]
    assert text.names(sentence, openings=False) == ["Nazarbayev", "Saturday", "Nur-Sultan"]
    assert text.names("Roughly how many were held?", openings=False) == []


def test_names_are_runs_that_stop_at_a_sentence_end() -> None:
    sentence = "Tokayev asked Vladimir Putin. Kazakhstan agreed with Time Warner's iPhone unit."
    spans = text.name_spans(sentence)
    assert [sentence[a:b] for a, b in spans] == [
        "Tokayev",
        "Vladimir Putin.",
        "Kazakhstan",
        "Time Warner's iPhone",
    ]
    assert text.names(sentence) == ["Tokayev", "Vladimir Putin", "Kazakhstan", "Time Warner iPhone"]


def test_numbers_are_digits_and_spoken_words_one_only_where_asked() -> None:
    sentence = "Twenty-one of the 4,000 troops, one in three, came in 2.5 days; half left."
    spans = [sentence[a:b] for a, b in text.number_spans(sentence, spoken_one=True)]
    assert spans == ["Twenty-one", "4,000", "one", "three", "2.5", "half"]
    assert text.numbers(sentence, spoken_one=False) == {"20", "4000", "3", "2.5", "half"}
    assert text.numbers(sentence, spoken_one=True) == {"20", "1", "4000", "3", "2.5", "half"}
    assert text.numbers("a dozen of the 2 million", spoken_one=False) == {"12", "2", "1000000"}


def test_an_asked_name_is_not_a_new_item_even_with_its_possessive() -> None:
    question = "Who did Tokayev's government ask for help?"
    sentence = "The government of Tokayev asked Vladimir Putin for help."
    items = [sentence[a:b] for a, b in answer_items("name", sentence, question)]
    assert items == ["Vladimir Putin"]


@given(st.text(alphabet=st.sampled_from("aZ Q.,!?'’-19 \n"), max_size=60))
def test_spans_are_in_order_inside_the_text_and_never_overlap(sample: str) -> None:
    for spans in (
        text.name_spans(sample),
        text.name_spans(sample, openings=False),
        text.number_spans(sample, spoken_one=True),
    ):
        ends = [0, *[x for span in spans for x in span], len(sample)]
        assert ends == sorted(ends)
    assert set(text.names(sample, openings=False)) <= set(text.names(sample)) | {
        n for name in text.names(sample) for n in _tails(name)
    }


def _tails(name: str) -> list[str]:
    """A run without its opening words: what is left of it when they open a sentence."""
    words = name.split()
    return [" ".join(words[i:]) for i in range(1, len(words))]
