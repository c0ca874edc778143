"""article-qa: ask questions about news articles; every answer cites the articles.

The public surface is small. Names load on first use (PEP 562), so `import qa` and `qa --help`
stay instant: no model, no FAISS, no Gradio until a command needs them.
"""

import os
from importlib import import_module

from qa.config import OFFLINE

for _name, _value in OFFLINE.items():
    os.environ.setdefault(_name, _value)

_EXPORTS = {
    "Answer": "qa.answer.compose",
    "Citation": "qa.answer.compose",
    "Article": "qa.ingest.corpus",
    "read_corpus": "qa.ingest.corpus",
    "Settings": "qa.config",
    "QAError": "qa.errors",
    "Engine": "qa.answer.engine",
    "build_index": "qa.index.indexing",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
