from pathlib import Path

import pytest

from qa.config import Settings
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
