"""The errors users can meet, each with a message that says what to do.

QAError                   base: the CLI prints its message on one line and exits 1
├── UsageError            bad input from the user (exit 2)
├── IndexMissing          no index has been built in the folder
├── IndexCorrupt          a file of the index is missing, truncated or unreadable
├── IndexMismatch         the index was built with another model or chunking
├── IndexLocked           another build holds the index lock
├── ModelUnavailable      the embedding model cannot be loaded offline
└── ExtraMissing          a use whose optional dependencies are not installed (exit 2)
"""

import importlib.util


class QAError(Exception):
    """An error with a message meant for the user; `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(QAError):
    exit_code = 2


class IndexMissing(QAError):
    def __init__(self, folder: str) -> None:
        super().__init__(f"No index in {folder}: run `qa index build` first.")


class IndexCorrupt(QAError):
    def __init__(self, folder: str, detail: str) -> None:
        super().__init__(
            f"The index in {folder} is damaged ({detail}): run `qa index build` to rebuild it."
        )


class IndexMismatch(QAError):
    def __init__(self, folder: str, detail: str) -> None:
        super().__init__(
            f"The index in {folder} was built with different settings ({detail}): "
            "run `qa index build` to rebuild it."
        )


class IndexLocked(QAError):
    pass


class ModelUnavailable(QAError):
    pass


class ExtraMissing(UsageError):
    def __init__(self, use: str, module: str, extra: str) -> None:
        super().__init__(
            f"{use} needs {module}, which serving alone does not install: "
            f"pip install -e '.[{extra}]' (`make test` installs every extra)."
        )


def need(module: str, extra: str, use: str) -> None:
    """Refuse `use` when `module` of the optional `extra` is not installed, naming the fix."""
    if importlib.util.find_spec(module) is None:
        raise ExtraMissing(use, module, extra)
