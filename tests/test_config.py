from pathlib import Path

import pytest

from qa.config import CHOICES, Settings
from qa.errors import UsageError


def test_env_overrides_defaults() -> None:
    s = Settings.from_env({"QA_INDEX": "/tmp/x", "QA_TOP_K": "12", "QA_ABSTAIN_BELOW": "0.3"})
    assert s.index == Path("/tmp/x") and s.top_k == 12 and s.abstain_below == 0.3
    assert s.corpus == Path.cwd() / "seeds" and s.port == 7860 and s.host == "127.0.0.1"


def test_flags_override_env_and_none_means_unset() -> None:
    s = Settings.from_env({"QA_PORT": "9000"}).with_(port=None, host="0.0.0.0")
    assert s.port == 9000 and s.host == "0.0.0.0"


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(UsageError, match="QA_TOP_K"):
        Settings.from_env({"QA_TOP_K": "many"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("mode", "sparse"),
        ("engine", "spark"),
        ("precision", "fp8"),
        ("query_runtime", "tflite"),
        ("index_type", "annoy"),
        ("llm", "gpt"),
    ],
)
def test_a_setting_of_a_few_words_refuses_others_naming_them_and_the_variable(
    name: str, value: str
) -> None:
    variable = f"QA_{name.upper()}"
    with pytest.raises(UsageError, match=f"Unknown {name.replace('_', ' ')} '{value}'") as error:
        Settings.from_env({variable: value})
    assert f"({variable})" in str(error.value)
    assert all(word in str(error.value) for word in CHOICES[name] if word)
    with pytest.raises(UsageError, match=variable):
        Settings().with_(**{name: value})  # a flag is checked the same way


def test_the_corpus_counts_as_named_only_when_it_was_given() -> None:
    """Serve and update use the corpus an index was built from unless one was named."""
    assert not Settings().corpus_named and not Settings.from_env({}).corpus_named
    assert Settings.from_env({"QA_CORPUS": "news"}).corpus_named
    assert Settings().with_(corpus=Path("news")).corpus_named
    assert not Settings().with_(corpus=None).corpus_named  # an unset flag names nothing


def test_examples_are_the_items_between_bars() -> None:
    assert Settings(examples=" Who won? | |How old is he?").example_questions == [
        "Who won?",
        "How old is he?",
    ]
    assert Settings().example_questions == []
