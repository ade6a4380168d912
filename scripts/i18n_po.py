"""The .po files of sms_journey without a database: create the skeletons, merge the
template into them when gettext's msgmerge is missing, and check them.

    python scripts/i18n_po.py init  [--i18n-dir DIR]   # create missing it.po, ro.po, es.po
    python scripts/i18n_po.py merge [--i18n-dir DIR]   # polib merge (msgmerge's fallback)
    python scripts/i18n_po.py check [--i18n-dir DIR]   # exit 1 listing every problem

``check`` reports, for each language: an entry with an empty msgstr, an entry flagged
fuzzy, a msgid of the template missing from the .po, and a msgstr whose placeholders
(``%s``, ``%(name)s``, ``{{ expr }}``, ``{name}``) differ from its msgid's — a
translated template that loses ``{{ object.name }}`` or a message that loses
``%(brand)s`` breaks at run time, not at load.
"""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import polib

MODULE = "sms_journey"
I18N_DIR = Path(__file__).resolve().parent.parent / MODULE / "i18n"

# language code of the file → (Language header, Plural-Forms header)
LANGUAGES = {
    "it": ("it", "nplurals=2; plural=(n != 1);"),
    "ro": ("ro", "nplurals=3; plural=(n==1 ? 0 : (n==0 || (n%100 > 0 && n%100 < 20)) ? 1 : 2);"),
    "es": ("es", "nplurals=2; plural=(n != 1);"),
}

# Python's %-formatting (positional and named), inline templates and {name} fields.
PLACEHOLDER = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdrfi]"  # %(name)s
    r"|%[sdrfi]"  # %s
    r"|\{\{.*?\}\}"  # {{ object.name }}
    r"|(?<!\{)\{[A-Za-z_][A-Za-z0-9_]*\}(?!\})"  # {name}
)


def placeholders(text):
    """The placeholders of ``text`` as a multiset; inline template expressions compared
    by their expression (``{{object.name}}`` is ``{{ object.name }}``)."""
    text = (text or "").replace("%%", "")
    return Counter(
        "{{ " + " ".join(p[2:-2].split()) + " }}" if p.startswith("{{") else p
        for p in PLACEHOLDER.findall(text)
    )


def entry_key(entry):
    return (entry.msgctxt or "", entry.msgid)


def short(text, width=70):
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def pot_path(i18n_dir):
    return i18n_dir / f"{MODULE}.pot"


def init(i18n_dir):
    """Create each missing ``<lang>.po`` from the template, every msgstr empty."""
    pot = polib.pofile(str(pot_path(i18n_dir)))
    for code, (language, plural_forms) in LANGUAGES.items():
        path = i18n_dir / f"{code}.po"
        if path.exists():
            continue
        po = polib.POFile(wrapwidth=pot.wrapwidth)
        po.header = f"Translation of {MODULE}.\nThis file contains the translation of {MODULE}."
        po.metadata = dict(pot.metadata)
        po.metadata.update(
            {
                "Language": language,
                "Language-Team": "",
                "Last-Translator": "",
                "Plural-Forms": plural_forms,
                "Content-Type": "text/plain; charset=UTF-8",
                "Content-Transfer-Encoding": "8bit",
            }
        )
        for entry in pot:
            po.append(
                polib.POEntry(
                    msgid=entry.msgid,
                    msgctxt=entry.msgctxt,
                    msgstr="",
                    occurrences=entry.occurrences,
                    comment=entry.comment,
                    tcomment=entry.tcomment,
                    flags=[f for f in entry.flags if f != "fuzzy"],
                )
            )
        po.save(str(path))
        print(f"created {path}")


def merge(i18n_dir):
    """Merge the template into each .po with polib (no fuzzy matching: a changed msgid
    comes back empty, which ``check`` reports)."""
    pot = polib.pofile(str(pot_path(i18n_dir)))
    for code in LANGUAGES:
        path = i18n_dir / f"{code}.po"
        po = polib.pofile(str(path))
        po.merge(pot)
        po.save(str(path))
        print(f"merged {path}")


def check(i18n_dir):
    """Every problem of the .po files, as readable lines (none: complete)."""
    problems = []
    pot = polib.pofile(str(pot_path(i18n_dir)))
    for code in LANGUAGES:
        path = i18n_dir / f"{code}.po"
        if not path.exists():
            problems.append(f"{path.name}: missing (run scripts/i18n.sh)")
            continue
        po = polib.pofile(str(path))
        entries = {entry_key(e): e for e in po if not e.obsolete}
        for key in (entry_key(e) for e in pot if not e.obsolete):
            if key not in entries:
                problems.append(f"{path.name}: msgid missing: {short(key[1])!r}")
        for entry in entries.values():
            where = f"{path.name}:{entry.linenum}"
            translations = (
                list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
            )
            if "fuzzy" in entry.flags:
                problems.append(f"{where}: fuzzy: {short(entry.msgid)!r}")
            if not all(t.strip() for t in translations):
                problems.append(f"{where}: empty msgstr: {short(entry.msgid)!r}")
                continue
            expected = placeholders(entry.msgid)
            for translation in translations:
                found = placeholders(translation)
                if found != expected:
                    missing = sorted((expected - found).elements())
                    extra = sorted((found - expected).elements())
                    problems.append(
                        f"{where}: placeholders differ (missing {missing}, unexpected {extra}): "
                        f"{short(entry.msgid)!r}"
                    )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["init", "merge", "check"])
    parser.add_argument("--i18n-dir", type=Path, default=I18N_DIR)
    args = parser.parse_args(argv)
    if args.command == "init":
        init(args.i18n_dir)
    elif args.command == "merge":
        merge(args.i18n_dir)
    else:
        problems = check(args.i18n_dir)
        for line in problems:
            print(line)
        if problems:
            print(f"{len(problems)} translation problem(s) in {args.i18n_dir}", file=sys.stderr)
            return 1
        print(f"translations complete: {', '.join(f'{c}.po' for c in LANGUAGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
