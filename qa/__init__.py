"""article-qa: ask questions about news articles; every answer cites the articles.

The public surface is small. Names load on first use (PEP 562), so `import qa` and `qa --help`
stay instant: no model, no FAISS, no Gradio until a command needs them.
"""

from importlib import import_module

_EXPORTS = {
    "Answer": "qa.answer",
    "Citation": "qa.answer",
    "Article": "qa.corpus",
    "read_corpus": "qa.corpus",
    "Settings": "qa.config",
    "QAError": "qa.errors",
    "Engine": "qa.engine",
    "build_index": "qa.indexing",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
