"""The .po files of sms_journey (and of its bridges) without a database: create the
skeletons, merge the template into them when gettext's msgmerge is missing, and check them.

    python scripts/i18n_po.py init  [--i18n-dir DIR]   # create missing it.po, ro.po, es.po
    python scripts/i18n_po.py merge [--i18n-dir DIR]   # polib merge (msgmerge's fallback)
    python scripts/i18n_po.py check [--i18n-dir DIR]   # exit 1 listing every problem

The module is the folder holding ``--i18n-dir`` (``sms_journey/i18n`` by default; a
bridge's ``<bridge>/i18n`` for its own template and translations).

``check`` reports, for each language: an entry with an empty msgstr, an entry flagged
fuzzy, a msgid of the template missing from the .po, and a msgstr whose placeholders
(``%s``, ``%(name)s``, ``{{ expr }}``, ``{name}``) differ from its msgid's — a
translated template that loses ``{{ object.name }}`` or a message that loses
``%(brand)s`` breaks at run time, not at load.

It also reports a template out of step with the sources, found the way Odoo's export
finds them (``odoo/tools/translate.py``, ``TranslationModuleReader``):

* code strings: ``_()``/``_lt()``/``env._()`` in the module's Python files, ``_t()`` in
  its ``static/src`` JavaScript and the texts of its OWL templates (``static/src``
  XML, through Odoo's own extractor when ``--odoo-src`` is given), each with its file:
  one missing from the template, or one the template still lists for a file that no
  longer has it;
* data records: the translatable fields (``DATA_FIELDS``) of the records the module's
  data and demo files define: a value missing from the template (changed since the
  export) or a record the template lists that no file defines any more. Field labels,
  views and menus need a database: ``scripts/i18n.sh`` (the export) refreshes them.
"""

import argparse
import ast
import re
import sys
from collections import Counter
from pathlib import Path

import polib
from lxml import etree

MODULE = "sms_journey"
I18N_DIR = Path(__file__).resolve().parent.parent / MODULE / "i18n"

# language code of the file → (Language header, Plural-Forms header)
LANGUAGES = {
    "it": ("it", "nplurals=2; plural=(n != 1);"),
    "ro": ("ro", "nplurals=3; plural=(n==1 ? 0 : (n==0 || (n%100 > 0 && n%100 < 20)) ? 1 : 2);"),
    "es": ("es", "nplurals=2; plural=(n != 1);"),
}

# The translatable fields of the records the data and demo files define: the model's
# own ``translate=True`` fields and those of Odoo's models the files fill. An HTML
# field is exported by terms (``model_terms``): only its presence is checked.
DATA_FIELDS = {
    "sms.journey": ("name", "description"),
    "sms.journey.step": ("name",),
    "sms.template": ("name", "body"),
    "sms.keyword.rule": ("name",),
    "sms.keyword.rule.action": ("activity_summary",),
    "sms.survey.question": ("name", "body", "clarification", "thanks"),
    "survey.survey": ("title", "description"),
    "survey.question": ("title",),
    "survey.question.answer": ("value",),
    "loyalty.program": ("name", "portal_point_name"),
    "calendar.alarm": ("name",),
}
HTML_FIELDS = {("survey.survey", "description")}

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


POT_NAME = f"{MODULE}.pot"


def use_module(name):
    """Work on the template and translations of module ``name`` (a bridge's)."""
    global MODULE, POT_NAME  # one module per run of the script
    MODULE = name
    POT_NAME = f"{name}.pot"


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


def _meaningful(text):
    """Odoo's export leaves out empty and one-letter terms (``_push_translation``)."""
    return len(re.sub(r"\W+", "", (text or "").strip())) > 1


def code_terms(module_dir, odoo_src=None):
    """{(path, msgid)} of the module's code strings, ``path`` as the template's
    ``code:`` occurrences write it (``addons/<module>/...``)."""
    from babel.messages import extract

    qweb = None
    if odoo_src:
        sys.path.insert(0, str(odoo_src))
        from odoo.tools.translate import babel_extract_qweb as qweb
    methods = [("*.py", "python", {"_": None, "_lt": None})]
    static = [("*.js", "javascript", {"_t": None})]
    if qweb:
        static.append(("*.xml", qweb, {}))
    terms = set()

    def scan(paths, method, keywords):
        for path in sorted(paths):
            display = f"addons/{MODULE}/{path.relative_to(module_dir).as_posix()}"
            with path.open("rb") as source:
                found = extract.extract(
                    method, source, keywords=keywords, options={"encoding": "UTF-8"}
                )
                for _lineno, message, _comments, _context in found:
                    if isinstance(message, str) and _meaningful(message):
                        terms.add((display, message))

    for pattern, method, keywords in methods:
        scan(module_dir.rglob(pattern), method, keywords)
    for src in module_dir.glob("static/src"):
        for pattern, method, keywords in static:
            scan(src.rglob(pattern), method, keywords)
    return terms


def data_terms(module_dir):
    """{(model, field, xmlid): value} of the ``DATA_FIELDS`` the module's data and
    demo files set (a record defined again keeps its last value; an HTML field's value
    is None), and the set of (model, xmlid) of the records the files define."""
    manifest = ast.literal_eval((module_dir / "__manifest__.py").read_text())
    values = {}
    records = set()
    for name in manifest.get("data", []) + manifest.get("demo", []):
        if not name.endswith(".xml"):
            continue
        root = etree.parse(str(module_dir / name)).getroot()
        for record in root.iter("record"):
            model = record.get("model")
            xmlid = record.get("id", "")
            if model not in DATA_FIELDS:
                continue
            if "." in xmlid:
                if not xmlid.startswith(f"{MODULE}."):
                    continue  # another module's record: its own translations
                xmlid = xmlid.split(".", 1)[1]
            records.add((model, f"{MODULE}.{xmlid}"))
            for field in record.iter("field"):
                fname = field.get("name")
                if fname not in DATA_FIELDS[model]:
                    continue
                key = (model, fname, f"{MODULE}.{xmlid}")
                if (model, fname) in HTML_FIELDS:
                    values[key] = None
                elif field.text and _meaningful(field.text):
                    values[key] = field.text
    return values, records


def pot_occurrences(pot):
    """{occurrence: {msgid}} of the template, occurrences as ``code:<path>`` or
    ``model:<model>,<field>:<xmlid>`` (``model_terms`` counted as ``model``)."""
    found = {}
    for entry in pot:
        if entry.obsolete:
            continue
        for where, _line in entry.occurrences:
            kind, _, rest = where.partition(":")
            if kind == "model_terms":
                kind = "model"
            if kind == "code":
                rest = rest.rsplit(":", 1)[0] if rest.endswith(":0") else rest
            found.setdefault(f"{kind}:{rest}", set()).add(entry.msgid)
    return found


def stale(pot, module_dir, odoo_src=None):
    """How the template is out of step with the module's sources, as readable lines."""
    problems = []
    occurrences = pot_occurrences(pot)
    code = code_terms(module_dir, odoo_src)
    listed = {
        (where[len("code:") :], msgid)
        for where, msgids in occurrences.items()
        if where.startswith("code:")
        for msgid in msgids
    }
    if not odoo_src:  # OWL templates not extracted: leave their entries alone
        listed = {(path, msgid) for path, msgid in listed if not path.endswith(".xml")}
    for path, msgid in sorted(code - listed):
        problems.append(f"{POT_NAME}: code string missing ({path}): {short(msgid)!r}")
    for path, msgid in sorted(listed - code):
        problems.append(f"{POT_NAME}: code string gone from {path}: {short(msgid)!r}")

    def normal(text):
        return " ".join((text or "").split())

    data, defined = data_terms(module_dir)
    for (model, fname, xmlid), value in sorted(data.items()):
        msgids = occurrences.get(f"model:{model},{fname}:{xmlid}")
        if not msgids:
            problems.append(f"{POT_NAME}: {model}.{fname} of {xmlid} missing")
        elif value is not None and normal(value) not in {normal(m) for m in msgids}:
            problems.append(
                f"{POT_NAME}: {model}.{fname} of {xmlid} changed since the export: "
                f"{short(value)!r}"
            )
    for where in sorted(occurrences):
        kind, _, rest = where.partition(":")
        head, _, xmlid = rest.rpartition(":")
        model, _, fname = head.partition(",")
        if kind == "model" and fname in DATA_FIELDS.get(model, ()):
            if (model, xmlid) not in defined:
                problems.append(f"{POT_NAME}: {model} {xmlid} no longer defined")
    return problems


def check(i18n_dir, odoo_src=None):
    """Every problem of the .po files and the template, as readable lines (none:
    complete)."""
    pot = polib.pofile(str(pot_path(i18n_dir)))
    problems = stale(pot, i18n_dir.parent, odoo_src)
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
    parser.add_argument(
        "--odoo-src", type=Path, help="Odoo's source tree: check the OWL templates' texts too"
    )
    args = parser.parse_args(argv)
    use_module(args.i18n_dir.resolve().parent.name)
    if args.command == "init":
        init(args.i18n_dir)
    elif args.command == "merge":
        merge(args.i18n_dir)
    else:
        problems = check(args.i18n_dir, args.odoo_src)
        for line in problems:
            print(line)
        if problems:
            print(f"{len(problems)} translation problem(s) in {args.i18n_dir}", file=sys.stderr)
            return 1
        print(f"{MODULE}: translations complete: {', '.join(f'{c}.po' for c in LANGUAGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
