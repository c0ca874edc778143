"""The reader's training inputs: each sentence with the sentence before it in its article, read
the same way in training (`train/`) and in the product (`qa.answer.reader.passage`)."""

from __future__ import annotations

import sys
from random import Random

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "train"))

import pairs  # noqa: E402
import train_reader  # noqa: E402

TEXT = "Tokayev asked Putin for help. He is 68. Troops came the next day."


def test_each_sentence_comes_with_the_one_before_it_in_its_article() -> None:
    found = pairs.with_before(pairs.sentences(TEXT))
    assert found == [
        ("Tokayev asked Putin for help.", ""),
        ("He is 68.", "Tokayev asked Putin for help."),
        ("Troops came the next day.", "He is 68."),
    ]
    assert pairs.before_in(TEXT, "He is 68.") == "Tokayev asked Putin for help."
    assert pairs.before_in(TEXT, "Tokayev asked Putin for help.") == ""
    assert pairs.before_in(TEXT, "Not in the article.") == ""


def test_training_reads_the_sentence_before_only_with_context() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(train_reader.base_path())
    row = {"question": "How old is Tokayev?", "title": "Kazakhstan", "sentence": "He is 68.",
           "before": "Tokayev asked Putin for help."}  # fmt: skip
    plain = tokenizer.convert_ids_to_tokens(train_reader.encode(tokenizer, [row])["input_ids"][0])
    read = train_reader.encode(tokenizer, [row], context=True)["input_ids"][0]
    tokens = tokenizer.convert_ids_to_tokens(read)
    assert "putin" in tokens[tokens.index("68") :]  # the sentence before, after the sentence
    assert tokens.count("[SEP]") == 3 and plain.count("[SEP]") == 2
    assert "putin" not in plain


def test_a_question_is_asked_again_of_another_person_of_its_article() -> None:
    """The sentence that answers "How old is Tokayev?" does not answer it asked of Putin, whom
    it also names: such twins teach the reader whom a fact is about."""
    article = (
        "Mr Tokayev spoke on television. Tokayev, 68, asked Putin for help. "
        "Putin said troops would come. Analyst Dosym Satpayev said the move was risky."
    )
    assert pairs.people(article) == ["Tokayev", "Putin", "Dosym Satpayev"]
    sentence = "Tokayev, 68, asked Putin for help."
    twins = pairs.swapped("How old is Tokayev?", sentence, pairs.people(article), Random(1))
    assert twins[0] == "How old is Putin?"  # the person the sentence also names comes first
    assert set(twins) == {"How old is Putin?", "How old is Satpayev?"}
    # a question naming no person of its sentence has no such twin
    assert pairs.swapped("When did troops come?", sentence, pairs.people(article), Random(1)) == []


def test_each_written_question_is_asked_again_in_other_words_with_its_answer_kept() -> None:
    """`paraphrases.jsonl` and `more/paraphrases.jsonl` word every written question trained on
    again; the new wording keeps the question's kind, answer and sentence, and the written
    question itself is left as it was."""
    written = pairs.questions()
    again = pairs.paraphrased(written, pairs.PARAPHRASES + pairs.MORE_PARAPHRASES)
    assert len(again) == len(written)
    by_id = {q["id"]: q for q in written}
    for q in again:
        first = by_id[q["id"]]
        assert q["question"] != first["question"]
        assert {k: v for k, v in q.items() if k != "question"} == {
            k: v for k, v in first.items() if k != "question"
        }
    assert pairs.paraphrased([]) == []


def test_each_near_miss_asks_what_an_answering_sentence_lacks() -> None:
    """`near-misses.jsonl`: for a written question's answering sentence, one question on the same
    people that the sentence seems to answer and does not; read as an unanswerable question whose
    closest sentence is that one, never from an article kept out for checking."""
    written = {q["id"]: q for q in pairs.questions()}
    kept_out = pairs.checked_articles()
    assert kept_out  # half the articles of more/
    misses = pairs.near_misses()
    assert len(misses) >= 1900
    for miss in misses:
        source = written[miss["id"].removesuffix("-n")]
        assert source["kind"] == "answerable" and source["sentence"] == miss["sentence"]
        assert miss["article_id"] == source["article_id"] not in kept_out
        assert miss["question"] != source["question"] and miss["question"].endswith("?")
        assert miss["kind"] == "unanswerable" and miss["answer"] is None


def test_each_answerable_question_has_a_second_wording() -> None:
    """`paraphrases-2.jsonl` words each answerable question trained on a second time: never as
    written, and mostly unlike its first wording too (two writers, working apart, sometimes
    found the same short question)."""
    written = [q for q in pairs.questions() if q["kind"] == "answerable"]
    both = pairs.PARAPHRASES + pairs.MORE_PARAPHRASES
    first = {q["id"]: q["question"] for q in pairs.paraphrased(written, both)}
    second = pairs.paraphrased(written, pairs.SECOND_WORDINGS)
    assert len(second) == len(written) == len(first)
    by_id = {q["id"]: q for q in written}
    for q in second:
        assert q["question"] != by_id[q["id"]]["question"]
        assert q["answer"] == by_id[q["id"]]["answer"] and q["kind"] == "answerable"
    assert sum(q["question"] != first[q["id"]] for q in second) >= 0.9 * len(second)


def test_a_faithful_claim_with_two_names_exchanged_is_a_false_one() -> None:
    assert pairs.swapped_names("Chelsea beat Arsenal at Stamford Bridge.") == (
        "Arsenal beat Chelsea at Stamford Bridge."
    )
    assert pairs.swapped_names("Mr Macklin said Ask Jeeves paid $10m.") == (
        "Ask Jeeves said Mr Macklin paid $10m."
    )
    # the same either way round, or nothing to exchange
    assert pairs.swapped_names("Ask Jeeves and Blinkx both released tools.") is None
    assert pairs.swapped_names("Profits rose by 5%.") is None


def test_bucketed_batches_hold_every_pair_once_with_less_padding() -> None:
    rows = [
        {"question": "q" * Random(i).randint(5, 200), "title": "t", "sentence": "s"}
        for i in range(1000)
    ]
    plain = train_reader.batches(rows, 32, Random(1), bucket=False)
    bucketed = train_reader.batches(rows, 32, Random(1), bucket=True)

    def padded(cut: list[list[int]]) -> int:
        return sum(max(train_reader._length(rows[j]) for j in b) * len(b) for b in cut)

    assert sorted(j for b in bucketed for j in b) == list(range(1000))
    assert all(len(b) <= 32 for b in bucketed)
    assert padded(bucketed) < 0.8 * padded(plain)
