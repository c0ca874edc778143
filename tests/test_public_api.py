"""The public surface stays small and deliberate; importing `qa` loads nothing heavy."""

import subprocess
import sys

import qa


def test_exported_names() -> None:
    assert qa.__all__ == sorted(
        ["Answer", "Article", "Citation", "Engine", "QAError", "Settings", "build_index",
         "read_corpus"]
    )  # fmt: skip
    for name in qa.__all__:
        assert getattr(qa, name) is not None


def test_import_has_no_heavy_side_effects() -> None:
    code = (
        "import sys, qa; qa.Settings; qa.Answer;"
        "print(sorted({'torch', 'faiss', 'gradio', 'sentence_transformers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
