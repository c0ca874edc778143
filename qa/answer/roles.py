"""Who did what to whom: a claim that gives two names (or two numbers) each other's places.

"Russian President Vladimir Putin asked Tokayev for military assistance" uses only the words of
"Tokayev, 68, asked Russian President Vladimir Putin for military assistance", so no count of
words, names or numbers can tell them apart, and the checker often reads them as the same. What
differs is where each name stands: in the claim Putin is next to "asked" on the side Tokayev is
in the source. So each name is read with the nearest content word on each side (within `REACH`
tokens and its clause, past an aside such as ", 68,"), and a claim is caught when two names of it
each have the other's neighbours in the source and none of their own.

Two numbers are read the same way ("which figure belongs to which": "revenues rose 11% and profits
fell 4%" for the reverse), a number never against a name.

It stays silent where roles are said another way, so that a faithful rewording is not caught:
a name followed by "'s" ("Gazprom's chairman Aleksey Miller" for "Aleksey Miller, chairman of
Gazprom"), a passive ("was asked by"), a date.
"""

from __future__ import annotations

import re

from qa.text import bare, name_spans, number_spans, numbers, words

REACH = 3  # tokens read on each side of a name
TITLES = frozenset("mr mrs ms dr sir lord lady prof".split())  # name no one by themselves
_DATES = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december".split()
)
_BY = re.compile(r"\bby\s+(?:the\s+)?$", re.IGNORECASE)
PASSIVE = re.compile(r"\b(?:was|were|been|being|is|are)\s+\w+ed\b", re.IGNORECASE)
_ASIDE = re.compile(r"^,[^,.;]{1,24},")  # "Tokayev, 68, asked": the aside after a name is skipped
_STOP_BEFORE = re.compile(r"[,;:(\"]$")  # a clause opens: what is before is another clause's
_STOP_AFTER = re.compile(r"[,;:)\".]$")

Name = tuple[int, int, frozenset[str]]  # start, end, its words (lower case, titles left out)
Side = frozenset[tuple[str, str]]  # ("before" or "after", a stemmed content word)


def traded(claim: str, sentence: str) -> tuple[str, str] | None:
    """The two names, or the two numbers, of `claim` that stand in each other's places in
    `sentence` (as the claim writes them); None when there are none."""
    if PASSIVE.search(claim) or PASSIVE.search(sentence):
        return None
    for find in (_names, _numbers):
        if pair := _traded(claim, sentence, find(claim), find(sentence)):
            return pair
    return None


def _traded(
    claim: str, sentence: str, ours: list[Name], theirs: list[Name]
) -> tuple[str, str] | None:
    """The first two of `ours` (names or numbers of the claim) in each other's places among
    `theirs` (the sentence's of the same kind)."""
    for i, (a1, b1, k1) in enumerate(ours):
        for a2, b2, k2 in ours[i + 1 :]:
            s1, s2 = _find(k1, theirs), _find(k2, theirs)
            if k1 & k2 or not s1 or not s2 or s1 == s2:
                continue
            c1, c2 = _beside(claim, a1, b1), _beside(claim, a2, b2)
            t1, t2 = _beside(sentence, *s1), _beside(sentence, *s2)
            if None in (c1, c2, t1, t2):
                continue
            if c1 & t2 and c2 & t1 and not c1 & t1 and not c2 & t2:
                return claim[a1:b1], claim[a2:b2]
    return None


def _names(text: str) -> list[Name]:
    found = []
    for a, b in name_spans(text):
        keys = frozenset(bare(w).casefold() for w in text[a:b].split()) - TITLES - {""}
        if keys and not keys & _DATES:
            found.append((a, b, keys))
    return found


def _numbers(text: str) -> list[Name]:
    """The numbers of `text` as names of a kind: "which figure belongs to which" swaps them."""
    found = []
    for a, b in number_spans(text, spoken_one=False):
        keys = frozenset(numbers(text[a:b], spoken_one=False))
        if keys:
            found.append((a, b, keys))
    return found


def _find(keys: frozenset[str], names: list[Name]) -> tuple[int, int] | None:
    """Where the first name sharing a word with `keys` stands."""
    return next(((a, b) for a, b, k in names if keys & k), None)


def _beside(text: str, start: int, end: int) -> Side | None:
    """The nearest content word on each side of the name at `start:end`; None where its role is
    given another way (a possessive after it, "by" before it)."""
    before, after = text[:start], _ASIDE.sub("", text[end:], count=1)
    if after.startswith("'") or _BY.search(before):
        return None
    near = [("before", _nearest(before.split()[::-1], _STOP_BEFORE, True))]
    near.append(("after", _nearest(after.split(), _STOP_AFTER, False)))
    return frozenset((where, w) for where, w in near if w)


def _nearest(tokens: list[str], stop: re.Pattern[str], stop_first: bool) -> str | None:
    """The first content word, not a name's, of the first `REACH` tokens, not past a clause's
    edge (checked before a token when reading backwards, after it when reading forwards)."""
    for token in tokens[:REACH]:
        if stop_first and stop.search(token):
            return None
        found = [] if token[:1].isupper() else words(token)
        if found:
            return found[0]
        if not stop_first and stop.search(token):
            return None
    return None
