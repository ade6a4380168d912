"""Inbound SMS keyword parsing (STOP, START, HELP, YES...).

Replies come in any case, with accents or without, wrapped in punctuation or emoji
("Stop!", "«STOP»", "arrêt", "ARRET."), so both messages and keywords are compared after
:func:`normalize_text` and split into words. :data:`CONSENT_KEYWORDS` holds the default
consent keywords per family and language, used to seed the editable lists in Odoo.
"""

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

# Letters NFKD does not decompose into base letter + combining mark.
_LETTER_MAP = str.maketrans(
    {
        "ș": "s",
        "ş": "s",
        "ț": "t",
        "ţ": "t",
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "ħ": "h",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
    }
)
# A word is a run of letters/digits, apostrophes allowed inside ("don't" stays one word,
# so "y'all" is not mistaken for the keyword "Y").
_WORD_RE = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")

MODES = ("first_word", "exact", "contains")

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"
CONFIRM = "confirm"
# When user-edited lists put one keyword in two families, the safer reading wins:
# an ambiguous reply is treated as an opt-out rather than as consent.
FAMILY_PRIORITY = (OPT_OUT, OPT_IN, HELP, CONFIRM)

CONSENT_KEYWORDS = {
    OPT_OUT: {
        "en": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
        "it": ("STOP", "BASTA", "DISISCRIVIMI", "DISISCRIVI", "CANCELLAMI"),
        "ro": ("STOP", "DEZABONARE", "ANULARE", "REFUZ"),
        "es": ("STOP", "BAJA", "CANCELAR", "PARAR", "ALTO"),
        "fr": ("STOP", "ARRET", "ARRÊT", "DESABONNER", "DÉSINSCRIRE"),
        "de": ("STOP", "STOPP", "ABMELDEN", "ABBESTELLEN", "KÜNDIGEN", "KUENDIGEN"),
    },
    OPT_IN: {
        "en": ("START", "UNSTOP", "SUBSCRIBE"),
        "it": ("START", "ISCRIVIMI", "RIATTIVA"),
        "ro": ("START", "ABONARE", "PORNIRE"),
        "es": ("START", "ALTA", "INICIAR"),
        "fr": ("START", "ABONNER", "DEMARRER", "DÉMARRER"),
        "de": ("START", "ANMELDEN", "STARTEN"),
    },
    HELP: {
        "en": ("HELP", "INFO"),
        "it": ("AIUTO", "INFO"),
        "ro": ("AJUTOR", "INFO"),
        "es": ("AYUDA", "INFO"),
        "fr": ("AIDE", "INFO"),
        "de": ("HILFE", "INFO"),
    },
    CONFIRM: {
        "en": ("YES", "Y"),
        "it": ("SI", "SÌ"),
        "ro": ("DA",),
        "es": ("SI", "SÍ"),
        "fr": ("OUI",),
        "de": ("JA",),
    },
}


def _fold(text):
    text = unicodedata.normalize("NFKD", text).casefold()
    # Casefolding can produce new decomposable characters, hence the second NFKD.
    text = unicodedata.normalize("NFKD", text)
    text = "".join(
        char
        for char in text
        if not unicodedata.combining(char)
        # Zero-width and control characters (ZWSP, BOM, ZWJ) would split or glue words.
        and not (unicodedata.category(char) in ("Cf", "Cc") and not char.isspace())
    )
    return text.translate(_LETTER_MAP)


def _is_edge_noise(char):
    return char.isspace() or unicodedata.category(char)[0] in "PS"


def normalize_text(text):
    """Return ``text`` casefolded, without accents, whitespace collapsed and surrounding
    punctuation/symbols stripped: ``' «Arrêt!» '`` → ``'arret'``.

    None and False (Odoo's empty value) give ``''``.
    """
    if text is None or text is False:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    folded = _fold(text)
    # Folding is not always idempotent in one pass (e.g. compatibility characters whose
    # decomposition casefolds again), so repeat until stable.
    while True:
        again = _fold(folded)
        if again == folded:
            break
        folded = again
    text = " ".join(folded.split())
    start, end = 0, len(text)
    while start < end and _is_edge_noise(text[start]):
        start += 1
    while end > start and _is_edge_noise(text[end - 1]):
        end -= 1
    return text[start:end]


def words(text):
    """Normalised words of ``text``: runs of letters/digits, inner apostrophes kept."""
    return tuple(_WORD_RE.findall(normalize_text(text)))


def first_word(text):
    """Normalised first word of ``text`` (``'«Stop»!'`` → ``'stop'``), ``''`` if none."""
    found = words(text)
    return found[0] if found else ""


def _contains(haystack, needle):
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def _ordered_keywords(keywords):
    if isinstance(keywords, str):
        raise TypeError("keywords must be an iterable of strings, not a single string")
    return _prepare_keywords(tuple(keywords))


@lru_cache(maxsize=256)
def _prepare_keywords(keywords):
    """``_ordered_keywords`` of a tuple, cached: the same lists (consent keywords, a
    rule's keywords) are matched against every inbound SMS, and normalising each keyword
    again cost more than the rest of the match."""
    prepared = []
    for index, keyword in enumerate(keywords):
        keyword_words = words(keyword)
        if keyword_words:
            prepared.append((keyword, keyword_words, index))
    # Longer keywords first so "STOP ALL" wins over "STOP"; ties keep the given order.
    prepared.sort(key=lambda item: (-len(item[1]), -len(" ".join(item[1])), item[2]))
    return tuple(prepared)


def _matches(message_words, keyword_words, mode):
    if mode == "first_word":
        return message_words[: len(keyword_words)] == keyword_words
    if mode == "exact":
        return message_words == keyword_words
    return _contains(message_words, keyword_words)


def match(text, keywords, mode="first_word"):
    """Return the keyword (as given) that ``text`` matches, or None.

    :param keywords: iterable of keyword strings; they may hold several words.
    :param mode: ``'first_word'`` — the message starts with the keyword;
        ``'exact'`` — the whole message is the keyword (punctuation and emoji ignored);
        ``'contains'`` — the keyword appears as whole word(s) anywhere in the message.
    :raises ValueError: for an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"unknown keyword match mode {mode!r}, expected one of {MODES}")
    message_words = words(text)
    if not message_words:
        return None
    for keyword, keyword_words, _index in _ordered_keywords(keywords):
        if _matches(message_words, keyword_words, mode):
            return keyword
    return None


def flatten_families(families):
    """Turn ``{family: {lang: keywords}}`` into ``{family: (keywords...)}``.

    Already-flat families (``{family: keywords}``) are accepted too. Exact duplicates
    are dropped, first occurrence kept.
    """
    flat = {}
    for family, keywords in families.items():
        if isinstance(keywords, str):
            raise TypeError(f"keywords of family {family!r} must be an iterable of strings")
        if isinstance(keywords, Mapping):
            keywords = [kw for per_language in keywords.values() for kw in per_language]
        flat[family] = tuple(dict.fromkeys(keywords))
    return flat


def find_conflicts(families):
    """Normalised keywords listed in more than one family: ``{keyword: (families...)}``.

    Accepts the nested or the flat shape; useful to validate user-edited lists.
    """
    owners = {}
    for family, keywords in flatten_families(families).items():
        for keyword in keywords:
            normalized = " ".join(words(keyword))
            if normalized:
                owners.setdefault(normalized, [])
                if family not in owners[normalized]:
                    owners[normalized].append(family)
    return {kw: tuple(fams) for kw, fams in owners.items() if len(fams) > 1}


def _family_order(families):
    known = [family for family in FAMILY_PRIORITY if family in families]
    return known + [family for family in families if family not in FAMILY_PRIORITY]


def classify_consent(text, families=None):
    """Return the consent family (``'opt_out'``, ``'opt_in'``, ``'help'``, ``'confirm'``
    or a custom key) whose keyword starts ``text``, or None.

    :param families: ``{family: keywords}`` or the nested ``{family: {lang: keywords}}``
        shape of :data:`CONSENT_KEYWORDS` (the default). The longest matching keyword
        wins; on a tie the family earlier in :data:`FAMILY_PRIORITY` wins (opt-out first).
    """
    if families is None:
        families = CONSENT_KEYWORDS
    message_words = words(text)
    if not message_words:
        return None
    flat = flatten_families(families)
    best_family, best_size = None, 0
    for family in _family_order(flat):
        for _keyword, keyword_words, _index in _ordered_keywords(flat[family]):
            size = len(keyword_words)
            if size > best_size and _matches(message_words, keyword_words, "first_word"):
                best_family, best_size = family, size
                break
    return best_family
