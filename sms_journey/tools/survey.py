"""Reading survey answers typed in an SMS reply.

Three kinds of question: a ``scale`` (a whole number between two bounds, "4", "4/5",
"I'd say 4!"), ``yes_no`` (YES/NO in the languages we serve) and ``choice`` (one of a list
of options, by name or by its position: "2"). :func:`parse_answer` returns the canonical
answer or None when the reply is not a valid answer (out of range, ambiguous, empty), in
which case the caller asks once for clarification.
"""

import re
from dataclasses import dataclass

from . import keywords as kw

KINDS = ("scale", "yes_no", "choice")

YES_WORDS = ("yes", "y", "si", "da", "oui", "ja", "ok", "sure")
NO_WORDS = ("no", "n", "nu", "non", "nein", "nope")

# "4", "4/5", "4 / 5": the first number, a "/max" after it ignored.
_NUMBER_RE = re.compile(r"(?<![\d.,])(-?\d+)(?![.,]\d)(?:\s*/\s*\d+)?")


@dataclass(frozen=True)
class Answer:
    """A valid answer: ``value`` as stored and shown, ``number`` for averages
    (the grade, 1/0 for yes/no, the option's position)."""

    value: str
    number: float


def parse_answer(text, kind, scale_min=1, scale_max=5, choices=()):
    """The :class:`Answer` that ``text`` gives to a question of ``kind``, or None."""
    if kind not in KINDS:
        raise ValueError(f"unknown question kind {kind!r}, expected one of {KINDS}")
    if kind == "scale":
        return _parse_scale(text, scale_min, scale_max)
    if kind == "yes_no":
        return _parse_yes_no(text)
    return _parse_choice(text, choices)


def _numbers(text):
    # Not normalize_text: it strips a leading "-" as punctuation, and "-1" is no "1".
    return _NUMBER_RE.findall(text or "")


def _parse_scale(text, scale_min, scale_max):
    found = _numbers(text)
    if len(set(found)) != 1:  # none, or "3 or 4": ask again
        return None
    number = int(found[0])
    if not scale_min <= number <= scale_max:
        return None
    return Answer(str(number), float(number))


def _parse_yes_no(text):
    message_words = set(kw.words(text))
    yes = bool(message_words & set(YES_WORDS))
    no = bool(message_words & set(NO_WORDS))
    if yes == no:  # neither, or "yes no"
        return None
    return Answer("yes", 1.0) if yes else Answer("no", 0.0)


def _parse_choice(text, choices):
    choices = [choice for choice in choices if kw.words(choice)]
    found = set()
    for position, choice in enumerate(choices, start=1):
        if kw.match(text, [choice], "contains"):
            found.add(position)
    if not found:
        numbers = {int(n) for n in _numbers(text)}
        found = {n for n in numbers if 1 <= n <= len(choices)}
        if len(numbers) != len(found):
            return None
    if len(found) != 1:
        return None
    position = found.pop()
    return Answer(choices[position - 1], float(position))


def expected_answers(kind, scale_min=1, scale_max=5, choices=()):
    """Short text of what is expected, for the clarification SMS: "1-5", "YES/NO"..."""
    if kind == "scale":
        return f"{scale_min}-{scale_max}"
    if kind == "yes_no":
        return "YES/NO"
    return "/".join(choices)
