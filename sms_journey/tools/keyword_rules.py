"""Which keyword rule answers an inbound SMS.

Rules are user-edited records in Odoo; here they are plain :class:`KeywordRule` values so
the choice can be tested without a database. A rule holds keywords (synonyms) and a match
mode of :func:`sms_journey.tools.keywords.match`. When several rules match, the winner is
the one with the lowest sequence, then the most specific match: ``exact`` beats
``first_word`` beats ``contains``, then the longer keyword (more words, then more
letters), then the lowest id, so the choice never depends on the order rules are given in.
Scope (dates, company, "reply to our SMS within N days") is filtered by the caller.
"""

import re
from dataclasses import dataclass

from . import keywords as kw

# Lower is more specific: a whole-message match says more than a word somewhere.
SPECIFICITY = {"exact": 0, "first_word": 1, "contains": 2}

_SEPARATORS_RE = re.compile(r"[,;\n]+")


def parse_keywords(text):
    """Split a user-typed keyword list (``"YES, Sì; ok"``) into keywords.

    Commas, semicolons and new lines separate keywords; blanks and keywords that normalise
    to the same words as an earlier one are dropped. Returns a tuple, first spelling kept.
    """
    if not text:
        return ()
    seen = set()
    result = []
    for raw in _SEPARATORS_RE.split(text):
        keyword = " ".join(raw.split())
        key = kw.words(keyword)
        if key and key not in seen:
            seen.add(key)
            result.append(keyword)
    return tuple(result)


@dataclass(frozen=True)
class KeywordRule:
    """What the matcher needs to know of a rule."""

    id: int
    keywords: tuple
    mode: str = "first_word"
    sequence: int = 10

    def __post_init__(self):
        if self.mode not in SPECIFICITY:
            raise ValueError(f"unknown match mode {self.mode!r}")
        if isinstance(self.keywords, str):
            raise TypeError("keywords must be a tuple of strings; use parse_keywords()")


@dataclass(frozen=True)
class RuleMatch:
    """A rule that matched, with the keyword (as the rule spells it) that did."""

    rule: KeywordRule
    keyword: str

    @property
    def priority(self):
        """Sort key: smaller wins."""
        keyword_words = kw.words(self.keyword)
        return (
            self.rule.sequence,
            SPECIFICITY[self.rule.mode],
            -len(keyword_words),
            -len(" ".join(keyword_words)),
            self.rule.id,
        )


def matches(text, rules):
    """Every rule that ``text`` matches, best first."""
    found = []
    for rule in rules:
        keyword = kw.match(text, rule.keywords, rule.mode)
        if keyword is not None:
            found.append(RuleMatch(rule, keyword))
    found.sort(key=lambda item: item.priority)
    return found


def pick(text, rules):
    """The winning :class:`RuleMatch` for ``text``, or None when no rule matches."""
    found = matches(text, rules)
    return found[0] if found else None
