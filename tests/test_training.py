"""The reader's training inputs: each sentence with the sentence before it in its article, read
the same way in training (`train/`) and in the product (`qa.answer.reader.passage`)."""

from __future__ import annotations

import sys

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
