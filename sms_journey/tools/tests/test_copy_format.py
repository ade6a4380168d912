from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.copy_format import NULL, copy_column

# PostgreSQL text never holds a NUL character
TEXT = st.text(st.characters(blacklist_characters="\0"))
UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def unescape(field):
    """The value PostgreSQL reads from a ``COPY`` text field (what we write of it)."""
    if field == NULL:
        return None
    out, i = [], 0
    while i < len(field):
        pair = field[i : i + 2]
        if pair in UNESCAPES:
            out.append(UNESCAPES[pair])
            i += 2
        else:
            assert field[i] != "\\", f"lone backslash in {field!r}"
            out.append(field[i])
            i += 1
    return "".join(out)


def test_special_characters_are_escaped():
    assert copy_column(["a\tb", "c\\d", "e\nf\rg", None, 7, ""]) == [
        "a\\tb",
        "c\\\\d",
        "e\\nf\\rg",
        "\\N",
        "7",
        "",
    ]


@given(st.lists(st.one_of(st.none(), TEXT)))
def test_a_line_of_fields_reads_back_as_the_values(values):
    fields = copy_column(values)
    assert len(fields) == len(values)
    line = "\t".join(fields)
    assert "\n" not in line and "\r" not in line
    read = line.split("\t") if values else []
    assert [unescape(field) for field in read] == values
