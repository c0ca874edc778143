"""A claim that says the opposite of its source in other words: "rose" for "fell", "rejected" for
"accepted".

The "not" rule of the check counts negations, and a checker reading the pair often misses an
antonym: the words around it are the excerpt's own. So the direction a sentence gives is read from
a few closed lists of words: up (rise, grow, gain, higher …), down (fall, decline, cut, lower …),
yes (approve, accept, agree …) and no (reject, refuse, oppose …). A claim is caught when it gives a
direction no sentence of its source gives, and the source's sentence closest to it gives the
opposite one, which the claim does not.

It stays silent where the direction is said another way or the roles turn: a passive ("was sold
to" against "bought"), and "up", "down", "above" or "below" in the source ("exports are up 30%",
"step down"). "Won" and "lost", "before" and "after" are not listed: "A lost to B" is "B beat A".
"""

from __future__ import annotations

import re

from qa.answer.roles import PASSIVE
from qa.text import stem

_DIRECTIONS = {
    "up": "rise rose risen rising increase increased grow grew grown growth gain gained climb "
    "climbed jump jumped soar soared higher boost boosted raise raised",
    "down": "fall fell fallen falling decrease decreased decline declined cut slip slipped slump "
    "slumped shrink shrank lower reduce reduced",
    "yes": "approve approved accept accepted agree agreed allow allowed confirm confirmed support "
    "supported welcome welcomed",
    "no": "reject rejected refuse refused oppose opposed ban banned deny denied block blocked "
    "disagree disagreed",
}
_OPPOSITE = {"up": "down", "down": "up", "yes": "no", "no": "yes"}
_STEMS = {d: frozenset(stem(w) for w in listed.split()) for d, listed in _DIRECTIONS.items()}
_PARTICLES = frozenset(stem(w) for w in ("up", "down", "above", "below"))


def reversed_direction(claim: str, sentence: str, source: str) -> str | None:
    """The word of `claim` whose opposite `sentence` (the closest of its `source`) says instead,
    where no sentence of the source says it; None when there is none."""
    if PASSIVE.search(claim) or PASSIVE.search(source):
        return None
    ours, close, anywhere = _stems(claim), _stems(sentence).keys(), _stems(source).keys()
    if close & _PARTICLES:
        return None
    for direction, listed in _STEMS.items():
        opposite = _STEMS[_OPPOSITE[direction]]
        said = ours.keys() & listed
        if said and not anywhere & listed and close & opposite and not ours.keys() & opposite:
            return ours[min(said)]
    return None


def _stems(text: str) -> dict[str, str]:
    """Each word's stem, to the word as written."""
    return {stem(w): w for w in re.findall(r"[a-z]+", text.lower())}
