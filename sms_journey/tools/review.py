"""Routing a satisfaction answer: a review request or the salesperson.

A satisfied customer (grade at least the threshold) is asked for a public review with
the configured link; an unsatisfied one becomes an activity for the salesperson, who
calls back before a bad review is written. :func:`route` decides, :func:`grade_of`
reads the grade from an SMS reply ("4", "4/5", "I'd say 4!") the same way SMS surveys
do, :func:`fill_link` puts the link in the SMS text.
"""

from . import survey as survey_tools

REVIEW = "review"
SALESPERSON = "salesperson"

# What ``{{ review_url }}`` renders to in SMS templates; replaced by the review link.
LINK_PLACEHOLDER = "[REVIEW-URL]"


def route(grade, threshold, link):
    """``REVIEW`` when ``grade`` reaches ``threshold`` and there is a review ``link`` to
    send, ``SALESPERSON`` when it is below, None without a grade (nothing to route) or,
    satisfied, without a link (no review to ask for)."""
    if grade is None or threshold is None:
        return None
    if grade >= threshold:
        return REVIEW if link else None
    return SALESPERSON


def grade_of(text, scale_min=1, scale_max=5):
    """The whole-number grade within ``[scale_min, scale_max]`` in ``text``, or None."""
    answer = survey_tools.parse_answer(text or "", "scale", scale_min, scale_max)
    return answer.number if answer else None


def fill_link(body, link):
    """``body`` with the review ``link`` where the template put ``{{ review_url }}``;
    appended when the template forgot it, so the request always carries it."""
    body = body or ""
    if LINK_PLACEHOLDER in body:
        return body.replace(LINK_PLACEHOLDER, link)
    return f"{body} {link}".strip()
