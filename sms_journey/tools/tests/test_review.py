from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import review


def test_route_satisfied_unsatisfied_and_nothing():
    assert review.route(5, 4, "https://g.page/r/x") == review.REVIEW
    assert review.route(4, 4, "https://g.page/r/x") == review.REVIEW
    assert review.route(3, 4, "https://g.page/r/x") == review.SALESPERSON
    assert review.route(1, 4, "") == review.SALESPERSON
    assert review.route(5, 4, "") is None  # satisfied, but no review link configured
    assert review.route(None, 4, "https://g.page/r/x") is None


@given(st.integers(-10, 10), st.integers(-10, 10))
def test_route_is_a_threshold(grade, threshold):
    routed = review.route(grade, threshold, "L")
    assert routed == (review.REVIEW if grade >= threshold else review.SALESPERSON)


def test_grade_of_reads_a_grade_in_range():
    assert review.grade_of("5") == 5
    assert review.grade_of("I'd say 4/5!") == 4
    assert review.grade_of("9") is None
    assert review.grade_of("great") is None
    assert review.grade_of(None) is None
    assert review.grade_of("8", 0, 10) == 8


def test_fill_link():
    assert review.fill_link("Review us: [REVIEW-URL] thanks", "https://r") == (
        "Review us: https://r thanks"
    )
    assert review.fill_link("Review us!", "https://r") == "Review us! https://r"
