"""Words, names and numbers as the package reads them, each defined once.

`words` is what BM25 indexes and what answer scoring and the LLM check count: lower-cased,
English stopwords and question words dropped, Snowball-stemmed (PyStemmer), numbers kept whole
("4,000" is "4000"). `tokens` are the words as written, with their apostrophes, hyphens and
dots ("U.S.", "Tokayev's"): what names are read from. `holds` is the one rule for "this text
holds that answer", used by evaluation and the conversation benchmark alike.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

STEMMER = "english"
# bm25s's 33 English stopwords leave in the words questions are made of: "What did the
# company say about it?" would match every chunk holding "did", "say" or "about".
QUESTION_WORDS = frozenset(
    """about above after again against all also am any because been before being below between
    both can could did do does doing down during each few from further had has have having he her
    here hers him his how i its itself just many me more most much my nor now off once only other
    our out over own same she should so some than them those through too under until up very we were
    what when where which while who whom whose why would you your said says say tell told
    according""".split()
)
# Words of two or more letters or digits (bm25s's own pattern), and numbers with their thousands
# separators and decimals, which that pattern would cut into "4" and "000".
_WORD = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)+|\b\w\w+\b")
_TOKEN = re.compile(r"[\w'’.-]+")
_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Capitalised words that start questions or sentences and name nothing.
_NOT_NAMES = frozenset(
    """a an the and but or so what who whom whose which when where why how is are was were do
    does did can could will would should has have had in on at of for to from by with i if
    tell give list name describe explain""".split()
)
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve".split()
SPOKEN = {w: str(i) for i, w in enumerate(_UNITS)} | {
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
    "thousand": "1000", "half": "half", "halves": "half", "third": "third", "thirds": "third",
    "quarter": "quarter", "quarters": "quarter", "twice": "twice", "double": "twice",
}  # fmt: skip


@functools.cache
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | QUESTION_WORDS


def uncached_words(text: str, stop: frozenset[str] | None = None) -> tuple[str, ...]:
    """The stemmed content words of `text` in order; `stop` defaults to `stopwords()`."""
    stop = stopwords() if stop is None else stop
    found = [w.replace(",", "") for w in _WORD.findall(text.lower())]
    return tuple(stem(w) for w in found if w not in stop)


# Cached for answering: the same sentences and headlines come back question after question.
# An index build tokenizes each chunk once, through `uncached_words`: the cache's keys would
# otherwise hold up to 65,536 chunk texts after the build.
words = functools.lru_cache(maxsize=1 << 16)(uncached_words)


@functools.lru_cache(maxsize=1 << 17)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(STEMMER)


def tokens(text: str) -> list[str]:
    """The words of `text` as written, with the apostrophes, hyphens and dots inside them."""
    return _TOKEN.findall(text)


def bare(word: str, keep_case: bool = False) -> str:
    """A token without its surrounding punctuation and possessive "'s" ("Tokayev's" is
    "tokayev"), lower-cased unless `keep_case`."""
    word = word.strip(".'’-")
    return re.sub(r"['’]s$", "", word if keep_case else word.casefold())


def names(text: str) -> list[str]:
    """Runs of capitalised words and acronyms ("Time Warner", "CSTO", "Tokayev"), in order,
    each once; a question's opening word is one only when it is not a common word."""
    found: list[str] = []
    run: list[str] = []
    for token in [*tokens(text), ""]:
        word = token.strip("'’.-")
        if _is_name(word):
            run.append(re.sub(r"['’]s$", "", word))
            continue
        if run and " ".join(run) not in found:
            found.append(" ".join(run))
        run = []
    return found


def _is_name(word: str) -> bool:
    """Capitalised and not a common word ("Through", "The"), or an acronym ("US", "CSTO")."""
    if len(word) > 1 and word.isupper():
        return True
    return word[:1].isupper() and word.casefold() not in _NOT_NAMES and bool(words(word))


def numbers(text: str, spoken_one: bool) -> set[str]:
    """The numbers of `text`, digits without separators, spoken ones as digits ("three" → 3);
    "one" only where asked: it is as often a pronoun ("one of them")."""
    found = {x.replace(",", "") for x in _NUMBER.findall(text)}
    for token in tokens(text.casefold()):
        for word in token.strip(".'’-").split("-"):
            if word in SPOKEN and (spoken_one or word not in ("one", "zero")):
                found.add(SPOKEN[word])
    return found


def headline_template(title: str) -> str:
    """A headline with its numbers blanked: headlines that differ only by date share one."""
    return _DIGITS.sub("#", title.casefold().strip())


def normalise(text: str) -> str:
    """Whitespace normalisation (and NFC), the only change allowed when matching evidence."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def plain(text: str) -> str:
    """`text` for comparing answers: compatibility forms folded (NFKC), quotes straightened,
    case folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.replace("“", '"').replace("”", '"').casefold().split())


def holds(text: str, answer: str) -> bool:
    """`answer` in `text` as whole words, after `plain` on both ("18" is not in "2018")."""
    pattern = r"(?<!\w)" + re.escape(plain(answer)) + r"(?!\w)"
    return re.search(pattern, plain(text)) is not None
