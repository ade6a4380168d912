"""The outbox as a pure state machine: ``tools/outbox.py`` and ``tools/policy.py``.

The model holds SMS the way ``sms.gateway.message`` does (queued with a due time,
claimed, sent, canceled) and asks the policy as it does: at enqueue (the cap counting
what is queued), on each consent change (consent only, held SMS), at dispatch (the cap
counting what left) and on resend. The checks do not ask the policy: they read what the
provider got against the facts of the moment (blacklist, consent, the local hour, the
cap's window), and that, once the clock runs on, every SMS not canceled went exactly
once.
"""

import dataclasses
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from sms_journey.tools import outbox, policy, schedule

NUMBERS = ("+393331000001", "+393331000002")
TZ = "Europe/Rome"
START = datetime(2026, 6, 15, 18, 30)  # 20:30 in Rome


def test_plan_splits_decisions_in_order():
    now = datetime(2026, 6, 15, 10, 0)
    decisions = [
        policy.Decision(policy.SEND, now),
        policy.Decision(policy.CANCEL, now, policy.OPTED_OUT),
        policy.Decision(policy.DEFER, now + timedelta(hours=1), deferred_by=(policy.QUIET_HOURS,)),
    ]
    plan = outbox.plan(decisions)
    assert plan.send == [0]
    assert plan.cancel == [(1, policy.OPTED_OUT)]
    assert plan.defer == [(2, now + timedelta(hours=1), (policy.QUIET_HOURS,))]
    # a consent change judges consent, not the clock
    assert outbox.plan(decisions, timing=False).send == [0, 2]


def test_dispatch_counts_no_queued_sms_towards_the_cap():
    assert "queued" in outbox.CAP_STATES_AT_ENQUEUE
    assert "queued" not in outbox.CAP_STATES_AT_DISPATCH
    assert set(outbox.CAP_STATES_AT_DISPATCH) < set(outbox.CAP_STATES_AT_ENQUEUE)
    assert set(outbox.HELD).isdisjoint(outbox.CAP_STATES_AT_DISPATCH)


class PureOutbox(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = START
        self.rules = policy.Rules(window_start=8.0, window_end=21.0, cap=2, cap_hours=24)
        self.consent = dict.fromkeys(NUMBERS, "opted_in")
        self.blacklisted = set()
        self.messages = []  # dicts: number, kind, state, due_at, sent_at, reason
        self.provider = []  # (message index, time, facts at that time)

    # --- the outbox, as sms.gateway.message does it --------------------------------------

    def recipient(self, message, cap_states, batch=()):
        recent = [
            other["sent_at"] or other["due_at"]
            for index, other in enumerate(self.messages)
            if other is not message
            and other["kind"] == "marketing"
            and other["number"] == message["number"]
            and other["state"] in cap_states
            and not (other["state"] == "sending" and index in batch)
        ]
        return policy.Recipient(
            e164=message["number"],
            blacklisted=message["number"] in self.blacklisted,
            consent=self.consent[message["number"]],
            tz=TZ,
            recent_marketing=tuple(recent),
        )

    def ask(self, indexes, timing, cap_states):
        decisions, planned = [], {}
        rules = dataclasses.replace(self.rules, timing=timing)
        for index in indexes:
            message = self.messages[index]
            recipient = self.recipient(message, cap_states, batch=indexes)
            recipient = dataclasses.replace(
                recipient,
                recent_marketing=(*recipient.recent_marketing, *planned.get(message["number"], ())),
            )
            decision = policy.decide(message["kind"], recipient, rules, self.now)
            decisions.append(decision)
            if not decision.canceled and message["kind"] == "marketing":
                # SMS to one contact in one batch share its cap (sms.sender._decide)
                planned.setdefault(message["number"], []).append(decision.due_at)
        return outbox.plan(decisions, timing=timing)

    def apply(self, indexes, plan):
        for position, reason in plan.cancel:
            self.messages[indexes[position]].update(state="canceled", reason=reason)
        for position, due_at, _by in plan.defer:
            self.messages[indexes[position]].update(state="queued", due_at=due_at)
        return [indexes[position] for position in plan.send]

    def held(self):
        return [i for i, m in enumerate(self.messages) if m["state"] in outbox.HELD]

    def claim(self, limit):
        due = [i for i in self.held() if self.messages[i]["due_at"] <= self.now]
        due.sort(key=lambda i: (self.messages[i]["due_at"], i))
        claimed = due[:limit]
        for index in claimed:
            self.messages[index]["state"] = "sending"
        return claimed

    def send(self, claimed):
        """The dispatch after the claim: ask again, then the provider gets the rest."""
        to_send = self.apply(claimed, self.ask(claimed, True, outbox.CAP_STATES_AT_DISPATCH))
        for index in to_send:
            message = self.messages[index]
            self.provider.append((index, self.now, self.facts(message["number"])))
            message.update(state="sent", sent_at=self.now)
        return to_send

    def facts(self, number):
        return number in self.blacklisted, self.consent[number]

    # --- rules -------------------------------------------------------------------------

    @rule(number=st.sampled_from(NUMBERS), kind=st.sampled_from(policy.KINDS))
    def enqueue(self, number, kind):
        self.messages.append(
            {"number": number, "kind": kind, "state": "new", "due_at": self.now, "sent_at": None}
        )
        index = len(self.messages) - 1
        plan = self.ask([index], True, outbox.CAP_STATES_AT_ENQUEUE)
        self.messages[index]["state"] = "queued"
        self.apply([index], plan)

    @rule(
        number=st.sampled_from(NUMBERS), change=st.sampled_from(["stop", "start", "no_marketing"])
    )
    def change_consent(self, number, change):
        if change == "stop":
            self.consent[number] = "opted_out"
            self.blacklisted.add(number)
        elif change == "start":
            self.consent[number] = "opted_in"
            self.blacklisted.discard(number)
        else:
            self.consent[number] = "opted_out"
        held = [i for i in self.held() if self.messages[i]["number"] == number]
        self.apply(held, self.ask(held, False, outbox.CAP_STATES_AT_ENQUEUE))

    @rule(minutes=st.one_of(st.integers(1, 90), st.integers(1, 40 * 60)))
    def let_time_pass(self, minutes):
        self.now += timedelta(minutes=minutes)

    @rule(limit=st.integers(1, 4))
    def dispatch(self, limit):
        self.send(self.claim(limit))

    @rule(limit=st.integers(1, 4), after_request=st.booleans())
    def crash(self, limit, after_request):
        """A worker dies: before the request the reconcile queues the claim again;
        after it the provider has them and they are recorded sent."""
        claimed = self.claim(limit)
        if after_request:
            self.send(claimed)
        else:
            for index in claimed:
                self.messages[index].update(state="queued", due_at=self.now)

    @rule(index=st.integers(0, 30))
    def provider_fails_then_resend(self, index):
        """The provider refused an SMS for good; a person resends it."""
        sent = [i for i, m in enumerate(self.messages) if m["state"] == "queued"]
        if not sent:
            return
        target = sent[index % len(sent)]
        self.messages[target]["state"] = "failed"
        plan = self.ask([target], True, outbox.CAP_STATES_AT_ENQUEUE)
        self.messages[target]["state"] = "queued"
        self.apply([target], plan)

    # --- checks ------------------------------------------------------------------------

    @invariant()
    def the_provider_got_only_what_the_rules_allowed(self):
        counts = {}
        for index, when, (blacklisted, consent) in self.provider:
            counts[index] = counts.get(index, 0) + 1
            message = self.messages[index]
            if message["kind"] == "essential":
                continue
            assert not blacklisted, "sent to a blacklisted number"
            if message["kind"] == "marketing":
                assert consent == "opted_in", f"marketing SMS sent to consent {consent}"
                assert schedule.is_within_window(when, TZ, 8.0, 21.0), f"sent at {when}"
                window = [
                    other_when
                    for other, other_when, _facts in self.provider
                    if self.messages[other]["kind"] == "marketing"
                    and self.messages[other]["number"] == message["number"]
                    and when - timedelta(hours=24) < other_when <= when
                ]
                assert len(window) <= 2, f"cap broken at {when}: {window}"
        assert all(count == 1 for count in counts.values()), "sent twice"

    @invariant()
    def nothing_held_that_consent_refuses(self):
        for index in self.held():
            message = self.messages[index]
            if message["kind"] == "essential":
                continue
            assert message["number"] not in self.blacklisted
            if message["kind"] == "marketing":
                assert self.consent[message["number"]] == "opted_in"

    def teardown(self):
        for _round in range(200):
            held = self.held()
            if not held:
                break
            self.now = max(self.now, min(self.messages[i]["due_at"] for i in held))
            self.send(self.claim(10))
            self.the_provider_got_only_what_the_rules_allowed()
        sent = {index for index, _when, _facts in self.provider}
        for index, message in enumerate(self.messages):
            if message["state"] != "canceled":
                assert message["state"] == "sent" and index in sent, f"lost: {message}"


def test_outbox_state_machine():
    run_state_machine_as_test(
        PureOutbox, settings=settings(max_examples=300, stateful_step_count=30, deadline=None)
    )
