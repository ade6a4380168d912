"""ROAS and ROI as a user reads them (``tools/results.py: ratio_labels``)."""

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.results import RATIO_CAP, ratio_labels, roas


def number(value, digits):
    """The English formatting Odoo's ``formatLang`` gives."""
    return f"{value:,.{digits}f}"


def test_roas_is_a_multiple_and_roi_a_percentage():
    assert ratio_labels(3200.0, 100.0, number) == ("32×", "3,100 %")
    assert ratio_labels(250.0, 100.0, number) == ("2.5×", "150 %")
    assert ratio_labels(50.0, 100.0, number) == ("0.5×", "-50 %")
    assert ratio_labels(0.0, 100.0, number) == ("0.0×", "-100 %")


def test_without_cost_there_is_no_ratio():
    assert ratio_labels(48.0, 0.0, number) == ("—", "—")
    assert ratio_labels(0.0, 0.0, number) == ("—", "—")


def test_a_tiny_spend_reads_as_many_times_not_an_absurd_figure():
    # the demo: one SMS at 0.0075 brought a 48.00 order (6,400×, 639,900 %)
    assert ratio_labels(48.0, 0.0075, number) == ("> 1,000×", "> 99,900 %")


@given(
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.floats(min_value=0.0001, max_value=1e6, allow_nan=False),
)
def test_labels_are_short_and_carry_their_unit(revenue, cost):
    roas_label, roi_label = ratio_labels(revenue, cost, number)
    assert roas_label.endswith("×") and roi_label.endswith(" %")
    assert len(roas_label) <= len("> 1,000×") and len(roi_label) <= len("> 99,900 %")
    assert roas_label.startswith(">") == (roas(revenue, cost) > RATIO_CAP)
