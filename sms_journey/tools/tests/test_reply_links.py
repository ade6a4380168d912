"""Tests for sms_journey.tools.reply_links."""

from datetime import date, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from sms_journey.tools import reply_links
from sms_journey.tools.reply_links import (
    ACTIONS,
    EXPIRED,
    FORGED,
    MALFORMED,
    WindowLimiter,
    make_token,
    parse,
    peek,
    reply_key,
    with_links,
)

KEY = reply_key("database-secret")
TODAY = date(2026, 12, 7)
actions = st.sampled_from(sorted(ACTIONS))
record_ids = st.integers(min_value=1, max_value=reply_links.MAX_RECORD_ID)
numbers = st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True)
days = st.integers(min_value=0, max_value=365)


@given(actions, record_ids, numbers, days)
def test_roundtrip(action, record_id, number, valid_days):
    expires = TODAY + timedelta(days=valid_days)
    token = make_token(KEY, action, record_id, expires, number)
    link, refusal = parse(KEY, token, number, today=TODAY)
    assert refusal is None
    assert (link.action, link.record_id, link.expires) == (action, record_id, expires)
    assert peek(token) == (action, record_id)


def test_short():
    token = make_token(KEY, "appointment", 123456, TODAY + timedelta(days=60), "+393331234567")
    assert len(token) <= 22, token


@given(actions, record_ids, numbers, st.integers(min_value=1, max_value=3000))
def test_expired_refused(action, record_id, number, late):
    token = make_token(KEY, action, record_id, TODAY, number)
    assert parse(KEY, token, number, today=TODAY)[1] is None  # valid all of its last day
    assert parse(KEY, token, number, today=TODAY + timedelta(days=late)) == (None, EXPIRED)


@given(actions, record_ids, numbers, numbers)
def test_bound_to_the_number(action, record_id, number, other):
    assume(other != number)
    token = make_token(KEY, action, record_id, TODAY, number)
    assert parse(KEY, token, other, today=TODAY) == (None, FORGED)


@given(
    actions,
    record_ids,
    numbers,
    st.integers(min_value=0, max_value=200),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.", min_size=1, max_size=1),
)
def test_tampered_refused(action, record_id, number, position, char):
    token = make_token(KEY, action, record_id, TODAY, number)
    position %= len(token)
    tampered = token[:position] + char + token[position + 1 :]
    assume(tampered != token)
    link, refusal = parse(KEY, tampered, number, today=TODAY)
    assert link is None
    assert refusal in (MALFORMED, FORGED, EXPIRED)


@given(actions, record_ids, numbers, st.integers(min_value=1, max_value=3000))
def test_expiry_moved_later_is_forged(action, record_id, number, later):
    token = make_token(KEY, action, record_id, TODAY, number)
    head, _day, signature = token.split(".")
    moved = f"{head}.{reply_links._b36((TODAY - date(1970, 1, 1)).days + later)}.{signature}"
    assert parse(KEY, moved, number, today=TODAY + timedelta(days=later)) == (None, FORGED)


def test_trailing_newline_refused():
    token = make_token(KEY, "stop", 5, TODAY, "+393331234567")
    assert parse(KEY, token + "\n", "+393331234567", today=TODAY) == (None, MALFORMED)


@given(actions, record_ids, numbers)
def test_other_key_refused(action, record_id, number):
    token = make_token(KEY, action, record_id, TODAY, number)
    assert parse(reply_key("other-secret"), token, number, today=TODAY) == (None, FORGED)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=40), st.binary(max_size=10)))
def test_garbage_refused_without_error(token):
    link, refusal = parse(KEY, token, "+393331234567", today=TODAY)
    assert link is None and refusal in (MALFORMED, FORGED, EXPIRED)


def test_the_journey_link_key_signs_nothing_here():
    # another scope of the same secret: a journey link signature is no reply link one
    from sms_journey.tools import link_signature

    assert link_signature.link_key("database-secret") != KEY


def test_with_links_keeps_the_text():
    assert with_links("Hello ", []) == "Hello "
    assert (
        with_links("Hello ", [("STOP:", "https://x/o/s1.a.b")]) == "Hello\nSTOP: https://x/o/s1.a.b"
    )


def test_window_limiter():
    now = [0.0]
    limiter = WindowLimiter(2, 60, clock=lambda: now[0], max_keys=2)
    assert limiter.hit("a") and limiter.hit("a")
    assert not limiter.hit("a")
    assert limiter.hit("b")
    now[0] = 61
    assert limiter.hit("a")
    limiter.hit("c")  # forgets the oldest client
    assert len(limiter._hits) == 2


def test_unknown_action():
    try:
        make_token(KEY, "dance", 1, TODAY)
    except ValueError:
        return
    raise AssertionError("an unknown action must be refused")


def test_valid_days_default():
    assert reply_links.expiry_of(TODAY) == TODAY + timedelta(days=reply_links.VALID_DAYS)


@given(st.integers(min_value=reply_links.MAX_RECORD_ID + 1, max_value=36**13 - 1))
def test_ids_beyond_the_database_are_malformed(record_id):
    token = f"s{reply_links._b36(record_id)}.k3f.{'a' * reply_links.SIGNATURE_LENGTH}"
    assert peek(token) is None
    assert parse(KEY, token, "+393331234567", today=TODAY) == (None, MALFORMED)


def test_zero_id_refused():
    assert peek(f"s0.k3f.{'a' * reply_links.SIGNATURE_LENGTH}") is None


def test_drop_reply_instructions():
    drop = reply_links.drop_reply_instructions
    assert (
        drop("Reminder: Dentist, Mon 9:00. Reply C to confirm, A to cancel, R to reschedule.")
        == "Reminder: Dentist, Mon 9:00."
    )
    assert drop("How was your visit? Reply 1 (bad) to 5 (great)") == "How was your visit?"
    assert drop("Reply YES to subscribe. Thanks!") == "Thanks!"
    assert drop("Sale!\nRispondi STOP per non ricevere più SMS") == "Sale!"
    assert drop("Our reply policy. Replying is free") == "Our reply policy. Replying is free"
    assert drop("") == ""


@given(st.text(alphabet="abc .!?\nXYZ", max_size=60))
def test_drop_reply_instructions_keeps_text_without_them(text):
    assert reply_links.drop_reply_instructions(text) == text


@given(st.lists(st.sampled_from(["Hi.", "Reply C now.", "Sale -20%!", "Text WIN.", "Ok?"])))
def test_drop_reply_instructions_drops_only_them(sentences):
    result = reply_links.drop_reply_instructions(" ".join(sentences))
    assert result == " ".join(s for s in sentences if s.split()[0] not in ("Reply", "Text"))


def test_named_keyword_finds_a_contest_word_in_any_case_and_accents():
    assert reply_links.named_keyword("Spring draw! Text win to enter.", ["WIN"]) == "WIN"
    assert reply_links.named_keyword("Scrivi VINCÌ per partecipare", ["vinci"]) == "vinci"
    assert reply_links.named_keyword("Winter sale", ["WIN"]) is None, "a word, not a prefix"
    assert reply_links.named_keyword("Text WIN", ["", None, "LOSE"]) is None


@given(st.text(alphabet="abcdefgh ", max_size=30), st.sampled_from(["abc", "DEF", "gh"]))
def test_named_keyword_is_a_word_of_the_body(body, keyword):
    found = reply_links.named_keyword(body, [keyword])
    assert (found == keyword) == (keyword.lower() in body.split())
