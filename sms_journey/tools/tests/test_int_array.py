"""Ids passed to PostgreSQL as one array literal (``tools/results.py: int_array``)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.results import int_array


@given(st.lists(st.integers(min_value=-(2**31), max_value=2**31 - 1)))
def test_the_literal_reads_back_as_the_ids(ids):
    literal = int_array(ids)
    assert literal[0] == "{" and literal[-1] == "}"
    inner = literal[1:-1]
    assert ([int(i) for i in inner.split(",")] if inner else []) == ids


def test_only_integers_pass():
    assert int_array([]) == "{}"
    assert int_array([3, True]) == "{3,1}"
    with pytest.raises(ValueError):
        int_array(["1}; DROP TABLE x; --"])
