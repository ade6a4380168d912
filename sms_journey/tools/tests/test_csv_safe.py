"""OWASP CSV-injection neutralisation of export cells."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.csv_safe import FORMULA_TRIGGERS, safe_cell, safe_row


def test_formula_cells_are_quoted():
    for text in ('=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(text) == "'" + text


def test_plain_cells_unchanged():
    assert safe_cell("price please") == "price please"
    assert safe_cell("") == ""
    assert safe_cell(None) == ""
    assert safe_cell("a=b") == "a=b"
    assert safe_row({"a": "=1", "b": "ok"}) == {"a": "'=1", "b": "ok"}


@given(st.text())
def test_no_cell_starts_with_a_trigger_after_a_csv_round_trip(text):
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(text)])
    (cell,) = next(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert not cell.startswith(FORMULA_TRIGGERS)
    assert cell in (text, "'" + text)
