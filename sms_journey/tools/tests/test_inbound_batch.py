"""Tests for sms_journey.tools.inbound_batch."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.inbound_batch import InboundBatch

T0 = datetime(2026, 3, 2, 9, 0)


def test_a_new_batch_holds_nothing():
    batch = InboundBatch()
    assert (batch.answers, batch.posts, batch.done, batch.courtesy, batch.touches) == (
        [],
        [],
        [],
        [],
        [],
    )
    assert not batch.knows_none("journey", 1)
    assert not batch.courtesy_sent_to("+393331234567")


def test_quiet_replies_are_known_per_kind():
    batch = InboundBatch({"journey": {1, 2}, "survey": {3}})
    assert batch.knows_none("journey", 1)
    assert not batch.knows_none("journey", 3)
    assert batch.knows_none("survey", 3)
    assert not batch.knows_none("mailing", 1)


def test_courtesy_is_known_by_number():
    batch = InboundBatch()
    batch.mark_courtesy(7, "+393331234567")
    assert batch.courtesy_sent_to("+393331234567")
    assert not batch.courtesy_sent_to("+393337654321")
    assert batch.courtesy_ids() == [7]


def test_lookup_computes_once_per_key():
    batch = InboundBatch()
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert batch.lookup(("lang", "it_IT", 1), compute) == 1
    assert batch.lookup(("lang", "it_IT", 1), compute) == 1
    assert batch.lookup(("lang", "fr_FR", 1), compute) == 2
    assert len(calls) == 2


def test_rollback_drops_what_a_failing_reply_queued():
    batch = InboundBatch()
    batch.answer("first", "answer 1")
    batch.post("first")
    batch.mark_done(1)
    checkpoint = batch.checkpoint()
    batch.answer("second", "answer 2")
    batch.post("second")
    batch.mark_courtesy(2, "+39333")
    batch.touch(20, T0)
    batch.rollback(checkpoint)
    assert batch.answers == [("first", "answer 1")]
    assert batch.posts == ["first"]
    assert batch.done == [1]
    assert batch.courtesy == []
    assert batch.touches == []
    assert not batch.courtesy_sent_to("+39333")


def test_answers_grouped_in_queueing_order():
    batch = InboundBatch()
    for reply, request in [("a1", 1), ("b1", 2), ("a2", 3), ("a1", 4)]:
        batch.answer(reply, request)
    grouped = batch.answers_by(lambda reply: reply[0])
    assert list(grouped) == ["a", "b"]
    assert grouped["a"] == [("a1", 1), ("a2", 3), ("a1", 4)]
    assert grouped["b"] == [("b1", 2)]


def test_touches_by_time_oldest_first_without_duplicates():
    batch = InboundBatch()
    later = T0 + timedelta(seconds=1)
    batch.touch(5, later)
    batch.touch(3, T0)
    batch.touch(4, T0)
    batch.touch(3, T0)
    assert batch.touches_by_time() == [(T0, [3, 4]), (later, [5])]


@given(
    before=st.lists(st.integers(0, 4), max_size=10),
    after=st.lists(st.integers(0, 4), max_size=10),
)
def test_rollback_restores_any_checkpoint(before, after):
    """Whatever was queued after a checkpoint, rolling back to it leaves the batch as
    it stood at the checkpoint."""

    def queue(batch, ops):
        steps = [
            lambda n: batch.answer(n, n),
            batch.post,
            batch.mark_done,
            lambda n: batch.mark_courtesy(n, str(n)),
            lambda n: batch.touch(n, T0),
        ]
        for n, op in enumerate(ops):
            steps[op](n)

    batch = InboundBatch()
    queue(batch, before)
    state = [list(items) for items in batch._queues()]
    checkpoint = batch.checkpoint()
    queue(batch, after)
    batch.rollback(checkpoint)
    assert [list(items) for items in batch._queues()] == state
