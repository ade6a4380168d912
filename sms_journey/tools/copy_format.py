"""PostgreSQL's ``COPY … FROM STDIN`` text format, for writing tens of thousands of rows
at once (a journey's staged window): one line per row, fields separated by tabs, a
backslash, tab, newline or carriage return in a value escaped, ``\\N`` for NULL."""

ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def copy_column(values):
    """``values`` (None, or anything ``str()`` makes text without a NUL character,
    which PostgreSQL text never holds) as fields of ``COPY`` text lines, in order.
    Escaped in one ``translate`` of the whole column (a NUL separates the values
    meanwhile), not one per value: a column is tens of thousands of values."""
    values = list(values)
    if not values:
        return []
    text = "\0".join("" if v is None else str(v) for v in values).translate(ESCAPES)
    return [NULL if v is None else t for v, t in zip(values, text.split("\0"), strict=True)]
