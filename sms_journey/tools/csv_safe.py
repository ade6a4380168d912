"""Spreadsheet-safe CSV cells (OWASP "CSV Injection").

A spreadsheet opening a CSV runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)``, ``=cmd|...``), and some also after a leading tab or carriage
return. Reply bodies come from anyone who can text us, so every text cell of an export is
neutralised the way OWASP recommends: such a cell is prefixed with a single quote, which
spreadsheets show as text and which a person reading the file recognises.
"""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a CSV cell that no spreadsheet evaluates."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def safe_row(row):
    """A CSV row (dict) with every cell passed through :func:`safe_cell`."""
    return {key: safe_cell(value) for key, value in row.items()}
