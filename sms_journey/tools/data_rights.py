"""Data rights of a contact (GDPR art. 15 access, art. 17 erasure) and retention: the
parts that need no database.

- :func:`number_hash` is what an erased number becomes: the SHA-256 of the database's
  secret and the E.164 number, prefixed ``sha256:``. The same number always gives the
  same hash in one database, so an opt-out stays provable ("this number said STOP on that
  date": hash the number presented and look it up) while the number itself is gone;
  without the secret, nobody can test a list of numbers against the hashes. PostgreSQL
  computes the same value (:data:`NUMBER_HASH_SQL`), so the retention purge hashes
  millions of rows without reading them into Python.
- :data:`ERASED` replaces an erased or expired text (SMS body, reply, survey answer).
- :func:`build_archive` writes the export: one JSON and one CSV file per kind of data,
  plus a ``README.txt`` saying what each file holds, in one zip.
"""

import csv
import hashlib
import io
import json
import zipfile

from .csv_safe import safe_row

ERASED = "[erased]"
HASH_PREFIX = "sha256:"


def number_hash(secret, number):
    """The keyed hash that stands for ``number`` once erased (see the module docstring)."""
    digest = hashlib.sha256(f"{secret}|{number}".encode()).hexdigest()
    return HASH_PREFIX + digest


# the same as number_hash, in SQL: two parameters, the secret and the number (a column)
NUMBER_HASH_SQL = "%s || encode(sha256(convert_to(%s || '|' || %s, 'UTF8')), 'hex')"


def is_hashed(number):
    return bool(number) and number.startswith(HASH_PREFIX)


def _plain(value):
    """A cell of the export: many2one pairs ``(id, name)`` become their name in CSV."""
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], int):
        return value[1]
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if value is False:
        return ""
    return value


def to_csv(rows, columns):
    """``rows`` (dicts) as CSV text with ``columns`` as header; cells spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(safe_row({column: _plain(row.get(column)) for column in columns}))
    return out.getvalue()


def build_archive(sections, readme):
    """The export zip as bytes. ``sections``: ``[(name, columns, rows)]``, each written as
    ``name.json`` (the rows as read, ids included) and ``name.csv``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        for name, columns, rows in sections:
            archive.writestr(
                f"{name}.json", json.dumps(rows, indent=1, default=str, ensure_ascii=False)
            )
            archive.writestr(f"{name}.csv", to_csv(rows, columns))
    return buffer.getvalue()
