"""Tests for sms_journey.tools.link_signature."""

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sms_journey.tools.link_signature import SIGNATURE_LENGTH, link_key, sign, verify

KEY = link_key("database-secret")
codes = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    min_size=1,
    max_size=12,
)
trace_ids = st.integers(min_value=1, max_value=2**63 - 1)


@given(codes, trace_ids)
def test_roundtrip(code, trace_id):
    signature = sign(KEY, code, trace_id)
    assert re.fullmatch(f"[a-z2-7]{{{SIGNATURE_LENGTH}}}", signature)
    assert verify(KEY, code, trace_id, signature)


@given(codes, trace_ids, trace_ids)
def test_other_trace_id_fails(code, trace_id, other_id):
    assume(other_id != trace_id)
    assert not verify(KEY, code, other_id, sign(KEY, code, trace_id))


@given(codes, codes, trace_ids)
def test_other_code_fails(code, other_code, trace_id):
    assume(other_code != code)
    assert not verify(KEY, other_code, trace_id, sign(KEY, code, trace_id))


@given(codes, trace_ids, st.text(max_size=2 * SIGNATURE_LENGTH))
def test_tampered_signature_fails(code, trace_id, signature):
    assume(signature != sign(KEY, code, trace_id))
    assert not verify(KEY, code, trace_id, signature)


@given(codes, trace_ids, st.integers(0, SIGNATURE_LENGTH - 1), st.sampled_from("abc234XYZ-_"))
def test_one_changed_character_fails(code, trace_id, position, char):
    signature = sign(KEY, code, trace_id)
    assume(signature[position] != char)
    tampered = signature[:position] + char + signature[position + 1 :]
    assert not verify(KEY, code, trace_id, tampered)


@pytest.mark.parametrize("signature", [None, "", 12345])
def test_missing_signature_fails(signature):
    assert not verify(KEY, "abc", 5, signature)


def test_key_depends_on_the_secret():
    other = link_key("another-secret")
    assert not verify(other, "abc", 5, sign(KEY, "abc", 5))
    with pytest.raises(ValueError):
        link_key("")
