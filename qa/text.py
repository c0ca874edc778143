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
    "dozen": "12", "million": "1000000", "billion": "1000000000",
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


def token_spans(text: str) -> list[tuple[int, int]]:
    """Where each of `tokens(text)` is in `text`."""
    return [m.span() for m in _TOKEN.finditer(text)]


def bare(word: str, keep_case: bool = False) -> str:
    """A token without its surrounding punctuation and possessive "'s" ("Tokayev's" is
    "tokayev"), lower-cased unless `keep_case`."""
    word = word.strip(".'’-")
    return re.sub(r"['’]s$", "", word if keep_case else word.casefold())


def names(text: str, openings: bool = True) -> list[str]:
    """The names of `text` ("Time Warner", "CSTO", "Tokayev"), in order, each once, without
    their possessive "'s"; see `name_spans`."""
    found: list[str] = []
    for start, end in name_spans(text, openings):
        name = " ".join(bare(t, keep_case=True) for t in tokens(text[start:end]))
        if name not in found:
            found.append(name)
    return found


def name_spans(text: str, openings: bool = True) -> list[tuple[int, int]]:
    """Where the names of `text` are: runs of capitalised words ("Time Warner"), acronyms
    ("CSTO") and inner capitals ("iPhone"), common words aside ("The", "What"). A word that opens
    a sentence is capitalised whatever it is ("Roughly", "Media"): it is one only where
    `openings`."""
    spans: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    after = 0  # where the previous token started: a sentence opens after its ".", "!" or "?"
    for start, end in token_spans(text):
        word = bare(text[start:end], keep_case=True)
        opening = after == start or text[after:start].rstrip()[-1:] in (".", "!", "?")
        after = start
        ok = _is_name(word) and (openings or not opening)
        if ok and run and not opening:
            run = (run[0], end)
            continue
        if run:
            spans.append(run)
        run = (start, end) if ok else None
    return spans + [run] if run else spans


def _is_name(word: str) -> bool:
    """Capitalised and not a common word ("Through", "The"), an acronym ("US", "CSTO"), or a
    word with an inner capital ("iPhone")."""
    if len(word) > 1 and word.isupper():
        return True
    capital = word[:1].isupper() or any(c.isupper() for c in word[1:])
    return capital and word.casefold() not in _NOT_NAMES and bool(words(word))


def numbers(text: str, spoken_one: bool) -> set[str]:
    """The numbers of `text`: digits without separators, spoken ones as `SPOKEN` gives them
    ("three" is "3"); see `number_spans`."""
    found: set[str] = set()
    for start, end in number_spans(text, spoken_one):
        number = text[start:end]
        if number[:1].isdigit():
            found.add(number.replace(",", ""))
        else:
            found |= {SPOKEN[w] for w in _spoken(number, spoken_one)}
    return found


def number_spans(text: str, spoken_one: bool) -> list[tuple[int, int]]:
    """Where the numbers of `text` are: digits ("4,000", "2.5") and the words of `SPOKEN`
    ("three", "twenty-five", "half"); "one" only where asked: it is as often a pronoun ("one of
    them")."""
    spoken = [(a, b) for a, b in token_spans(text) if _spoken(text[a:b], spoken_one)]
    digits = [m.span() for m in _NUMBER.finditer(text)]
    inside = {d for d in digits for a, b in spoken if a <= d[0] < b}  # "twenty-5"
    return sorted(spoken + [d for d in digits if d not in inside])


def _spoken(token: str, spoken_one: bool) -> list[str]:
    """The spoken numbers of one token ("twenty-five": "twenty", "five")."""
    parts = token.casefold().strip(".'’-").split("-")
    return [w for w in parts if w in SPOKEN and (spoken_one or w not in ("one", "zero"))]


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
