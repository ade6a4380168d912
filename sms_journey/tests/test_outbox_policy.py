"""The policy is asked again while an SMS waits in the outbox (issue 20, item 1).

A consent change cancels the number's held SMS at once; the dispatch asks again just
before the provider gets each SMS; a resend goes through the policy.
"""

import dataclasses
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from odoo.tests import tagged
from odoo.tools import SQL

from ..models.sms_sender import SmsRequest
from ..tools import policy
from .common import SmsJourneyCase, new_sms_mailing

NUMBER = "+393331234567"
# 20:30 UTC is 22:30 in Rome: a marketing SMS waits for 08:00 Rome = 06:00 UTC
EVENING = datetime(2026, 6, 15, 20, 30)
NEXT_MORNING = datetime(2026, 6, 16, 6, 0)
MORNING = datetime(2026, 6, 15, 10, 0)


@tagged("post_install", "-at_install")
class TestOutboxPolicyAgain(SmsJourneyCase):
    def send(self, kind, body=None, partner=None):
        """One SMS of ``kind`` through the one door to send (the kind as an argument);
        returns its outbox row."""
        partner = partner or self.partner
        sent = self.env["sms.sender"]._send(
            [SmsRequest(body=body or f"A {kind} SMS", partner=partner, kind=kind)]
        )
        return sent[0].outbox

    def notification(self, message):
        return self.env["mail.notification"].search(
            [("sms_tracker_ids.sms_uuid", "=", message.sms_uuid)]
        )

    def assertCanceledWith(self, message, reason, failure_type, logged=True):
        """Canceled with the policy's ``reason``; the chatter notification (``logged``:
        the SMS was logged on a chatter, unlike a mailing's) says so."""
        message.invalidate_recordset()
        self.assertEqual(message.state, "canceled")
        self.assertEqual(message.cost, 0.0, "a canceled SMS never reached a provider")
        self.assertEqual(message.error_code, reason)
        self.assertTrue(message.failure_reason)
        if not logged:
            return
        notification = self.notification(message)
        self.assertEqual(notification.notification_status, "canceled")
        self.assertEqual(notification.failure_type, failure_type)
        self.assertEqual(notification.failure_reason, message.failure_reason)

    # --- cost is what was sent (issue 22, item 4) -------------------------------------

    def test_what_the_policy_cancels_costs_nothing_in_the_journey_results(self):
        """Rows built the real way, through the policy: the journey's cost is that of the
        SMS that left, not of those canceled at enqueue or while held."""
        journey = self.env["sms.journey"].create({"name": "Cost", "trigger": "birthday"})

        def send_in_journey(body):
            message = self.send("marketing", body)
            participant = self.env["sms.journey.participant"].create(
                {"journey_id": journey.id, "partner_id": self.partner.id,
                 "key": message.sms_uuid}
            )  # fmt: skip
            self.env["sms.journey.trace"].create(
                {"participant_id": participant.id, "sms_uuid": message.sms_uuid,
                 "outbox_message_id": message.id, "action": "sms", "state": "sent"}
            )  # fmt: skip
            self.dispatch()
            return message

        with self.frozen_now(MORNING):
            refused = send_in_journey("No consent yet")
            self.partner._sms_consent_set("opted_in", "staff", "signed form")
            sent = send_in_journey("Welcome offer")
        with self.frozen_now(EVENING):
            held = send_in_journey("Evening offer")
            self.assertEqual((held.state, held.cost), ("queued", 0.01))
            self.receive("STOP")
        self.assertEqual((refused.state, refused.cost), ("canceled", 0.0))
        self.assertEqual((sent.state, sent.cost), ("sent", 0.01))
        self.assertEqual((held.state, held.cost), ("canceled", 0.0))
        traces = self.env["sms.journey.trace"].search([("journey_id", "=", journey.id)])
        self.assertEqual(sorted(traces.mapped("cost")), [0.0, 0.0, 0.01])
        self.env["sms.result.snapshot"]._refresh()
        journey.invalidate_recordset()
        self.assertAlmostEqual(journey.cost, 0.01)

    # --- a consent change cancels the number's held SMS at once ----------------------

    def test_stop_cancels_marketing_sms_deferred_by_the_send_window(self):
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(EVENING):
            message = self.send("marketing")
            self.assertEqual(message.state, "queued")
            self.assertEqual(message.due_at, NEXT_MORNING)
            self.receive("STOP")
        self.assertCanceledWith(message, "opted_out", "sms_blacklist")
        self.assertEqual(message.attempts, 0)
        with self.frozen_now(NEXT_MORNING):
            self.dispatch()
        # only the STOP confirmation (essential) reached the number
        self.assertNotIn("A marketing SMS", [m["body"] for m in self.received(NUMBER)])
        self.assertEqual(message.state, "canceled")

    def test_stop_cancels_frequency_capped_sms(self):
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(MORNING):
            first = self.send("marketing", "First offer")
            capped = self.send("marketing", "Second offer")
            self.dispatch()
            self.assertEqual(first.state, "sent")
            self.assertEqual(capped.state, "queued")
            self.assertIn("frequency cap", capped.deferred_reason)
            self.receive("STOP")
        self.assertCanceledWith(capped, "opted_out", "sms_blacklist")
        with self.frozen_now(MORNING + timedelta(days=2)):
            self.dispatch()
        self.assertEqual([m["body"] for m in self.received(NUMBER)][:1], ["First offer"])
        self.assertNotIn("Second offer", [m["body"] for m in self.received(NUMBER)])

    def test_blacklist_cancels_sms_waiting_for_a_retry(self):
        self.provider.fail_next(kind="server_error")
        with self.frozen_now(MORNING):
            message = self.send("transactional", "Your order shipped")
            self.dispatch()
            self.assertEqual(message.state, "queued")
            self.assertEqual(message.error_code, "server_error")
            self.env["phone.blacklist"].sudo().add(NUMBER)
        self.assertCanceledWith(message, "opted_out", "sms_blacklist")
        with self.frozen_now(MORNING + timedelta(hours=2)):
            self.dispatch()
        self.assertSmsNotSent(NUMBER)

    def test_no_marketing_cancels_held_marketing_but_not_transactional(self):
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(EVENING):
            marketing = self.send("marketing", "Summer sale")
            self.provider.fail_next(kind="server_error")
            transactional = self.send("transactional", "Your order shipped")
            self.dispatch()
            self.assertEqual(transactional.state, "queued")  # waiting for its retry
            self.partner._sms_marketing_opt_out("staff")
        self.assertCanceledWith(marketing, "marketing_opt_out", "sms_optout")
        self.assertEqual(transactional.state, "queued")
        with self.frozen_now(NEXT_MORNING):
            self.dispatch()
            after = self.send("transactional", "Your order was delivered")
            self.dispatch()
        self.assertEqual(transactional.state, "sent")
        self.assertEqual(after.state, "sent")
        self.assertEqual(
            sorted(m["body"] for m in self.received(NUMBER)),
            ["Your order shipped", "Your order was delivered"],
        )

    def test_essential_sms_still_goes_after_stop(self):
        self.provider.fail_next(kind="server_error")
        with self.frozen_now(MORNING):
            held = self.send("essential", "Your code is 1234")
            self.dispatch()
            self.assertEqual(held.state, "queued")
            self.receive("STOP")
            self.assertEqual(held.state, "queued")
            fresh = self.send("essential", "Your code is 5678")
        with self.frozen_now(MORNING + timedelta(hours=2)):
            self.dispatch()
        self.assertEqual(held.state, "sent")
        self.assertEqual(fresh.state, "sent")
        self.assertSmsSent(NUMBER, "Your code is 1234")
        self.assertSmsSent(NUMBER, "Your code is 5678")

    def test_consent_rule_of_the_company_cancels_held_marketing(self):
        self.company.sms_marketing_consent = "opt_out"
        with self.frozen_now(EVENING):
            message = self.send("marketing")
            self.assertEqual(message.state, "queued")
            self.company.sms_marketing_consent = "opt_in"
        self.assertCanceledWith(message, "no_consent", "sms_optout")

    def test_odoo_sms_held_in_the_outbox_is_canceled_with_its_sms(self):
        """An SMS of Odoo's own features (``sms.sms``) waiting in the outbox: the
        ``sms.sms`` is canceled with the failure type, as at enqueue."""
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(EVENING):
            self.partner._message_sms("Chatter SMS", partner_ids=self.partner.ids)
            message = self.outbox(partner_id=self.partner.id)[-1:]
            self.assertEqual(message.state, "queued")
            self.provider.fail_next(kind="server_error")
            self.env["phone.blacklist"].sudo().add(NUMBER)
        self.assertCanceledWith(message, "opted_out", "sms_blacklist")
        sms = self.env["sms.sms"].sudo().search([("uuid", "=", message.sms_uuid)])
        self.assertEqual(sms.state, "canceled")
        self.assertEqual(sms.failure_type, "sms_blacklist")

    def test_blacklist_cancels_held_mailing_sms_and_its_trace(self):
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        mailing = new_sms_mailing(
            self.env, "Summer sale!", self.partner, sms_allow_unsubscribe=False
        )
        with self.frozen_now(EVENING):
            mailing.action_send_sms()
            self.env["sms.sms"]._process_queue()
            message = self.outbox(partner_id=self.partner.id)[-1:]
            self.assertEqual(message.state, "queued")
            self.env["phone.blacklist"].sudo().add(NUMBER)
        self.assertCanceledWith(message, "opted_out", "sms_blacklist", logged=False)
        trace = self.env["mailing.trace"].search([("mass_mailing_id", "=", mailing.id)])
        self.assertEqual(trace.trace_status, "cancel")
        self.assertEqual(trace.failure_type, "sms_blacklist")

    # --- the dispatch asks again ------------------------------------------------------

    def test_dispatch_cancels_what_the_policy_refuses_now(self):
        """A consent change that reached no hook (a direct SQL write, another module):
        the dispatch still asks the policy before the provider gets the SMS."""
        with self.frozen_now(MORNING):
            message = self.send("transactional", "Your order shipped")
            self.env.flush_all()
            self.env.cr.execute(
                "INSERT INTO phone_blacklist (number, active) VALUES (%s, TRUE)", [NUMBER]
            )
            self.env.registry.clear_cache()
            self.dispatch()
        self.assertCanceledWith(message, "opted_out", "sms_blacklist")
        self.assertEqual(message.attempts, 0)
        self.assertSmsNotSent(NUMBER)

    def test_dispatch_defers_to_the_send_window_it_missed(self):
        """Queued in the window, claimed after it closed (a backlog): back to the queue
        until the next morning, the claim undone."""
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(MORNING):
            message = self.send("marketing")
        with self.frozen_now(EVENING):
            self.dispatch()
        self.assertEqual(message.state, "queued")
        self.assertEqual(message.due_at, NEXT_MORNING)
        self.assertIn("quiet hours", message.deferred_reason)
        self.assertEqual(message.attempts, 0)
        self.assertFalse(message.first_attempt_at)
        self.assertSmsNotSent(NUMBER)
        with self.frozen_now(NEXT_MORNING):
            self.dispatch()
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.attempts, 1)

    def test_dispatch_keeps_the_frequency_cap_of_sends_only(self):
        """At dispatch the cap counts what left, not the SMS asking nor those waiting
        behind it: two capped SMS go one a day."""
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(MORNING):
            messages = self.send("marketing", "One") | self.send("marketing", "Two")
            messages |= self.send("marketing", "Three")
            self.dispatch()
        self.assertEqual(messages.mapped("state"), ["sent", "queued", "queued"])
        for day in (1, 2):
            with self.frozen_now(max(messages.filtered(lambda m: m.state == "queued")[:1].due_at,
                                     MORNING + timedelta(days=day))):  # fmt: skip
                self.dispatch()
        self.assertEqual(messages.mapped("state"), ["sent", "sent", "sent"])
        self.assertEqual([m["body"] for m in self.received(NUMBER)], ["One", "Two", "Three"])
        sent_at = messages.mapped("sent_at")
        self.assertGreaterEqual(sent_at[1] - sent_at[0], timedelta(hours=24))
        self.assertGreaterEqual(sent_at[2] - sent_at[1], timedelta(hours=24))

    def test_dispatch_of_transactional_sms_costs_no_policy_query(self):
        """The dispatch is a hot path: asking again costs no query for SMS that only
        the blacklist could stop while it is empty."""
        with self.frozen_now(MORNING):
            few = [self.send("transactional", f"Order {i}") for i in range(2)]
            self.env.flush_all()
            Outbox = self.env["sms.gateway.message"]
            claimed = Outbox._claim_due(10)
            self.assertEqual(len(claimed), len(few))
            # the dispatch groups its claim by gateway: the gateway is read already
            claimed.fetch(
                ["sms_kind", "partner_id", "number", "list_consent", "company_id", "gateway_id"]
            )
            with self.assertQueryCount(0):
                allowed = claimed._check_policy_before_sending()
        self.assertEqual(allowed, claimed)

    # --- resend -----------------------------------------------------------------------

    def test_resend_of_canceled_sms_to_blacklisted_number_stays_canceled(self):
        self.env["phone.blacklist"].sudo().add(NUMBER)
        message = self.send("transactional", "Your order shipped")
        self.assertCanceledWith(message, "opted_out", "sms_blacklist")
        reason = message.failure_reason
        message.action_resend()
        self.assertEqual(message.state, "canceled")
        self.assertEqual(message.failure_reason, reason)
        self.dispatch()
        self.assertSmsNotSent(NUMBER)

    def test_resend_of_failed_sms_to_number_blacklisted_since_is_canceled(self):
        self.provider.fail_next(kind="auth")
        message = self.send("transactional", "Your order shipped")
        self.dispatch()
        self.assertEqual(message.state, "failed")
        self.env["phone.blacklist"].sudo().add(NUMBER)
        message.action_resend()
        self.assertCanceledWith(message, "opted_out", "sms_blacklist")
        self.dispatch()
        self.assertSmsNotSent(NUMBER)

    def test_resend_of_failed_marketing_sms_waits_for_the_send_window(self):
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        self.provider.fail_next(kind="auth")
        with self.frozen_now(MORNING):
            message = self.send("marketing")
            self.dispatch()
        self.assertEqual(message.state, "failed")
        with self.frozen_now(EVENING):
            message.action_resend()
        self.assertEqual(message.state, "queued")
        self.assertEqual(message.due_at, NEXT_MORNING)
        with self.frozen_now(NEXT_MORNING):
            self.dispatch()
        self.assertEqual(message.state, "sent")

    def test_odoo_resend_of_failed_sms_to_blacklisted_number_is_canceled(self):
        """Odoo's own *Resend* (``sms.sms.resend_failed``) re-queues to our outbox,
        through the policy."""
        self.provider.fail_next(kind="auth")
        self.partner._message_sms("Chatter SMS", partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)[-1:]
        self.dispatch()
        self.assertEqual(message.state, "failed")
        sms = self.env["sms.sms"].sudo().search([("uuid", "=", message.sms_uuid)])
        self.assertEqual(sms.state, "error")
        self.env["phone.blacklist"].sudo().add(NUMBER)
        sms.resend_failed()
        self.assertEqual(message.state, "canceled")
        self.assertEqual(message.error_code, "opted_out")
        self.assertSmsNotSent(NUMBER)

    # --- Odoo's IAP path applies the policy -------------------------------------------

    def test_iap_path_cancels_what_the_policy_refuses(self):
        self.company.sms_gateway_id = False
        self.env["phone.blacklist"].sudo().add(NUMBER)
        with self.mock_iap() as calls:
            self.partner._message_sms("Via IAP", partner_ids=self.partner.ids)
        self.assertFalse(calls)
        sms = self.env["sms.sms"].sudo().search([("number", "=", NUMBER)])
        self.assertEqual(sms.state, "canceled")
        self.assertEqual(sms.failure_type, "sms_blacklist")


# --- the outbox as a state machine, against the real models ----------------------------

MACHINE_START = datetime(2026, 6, 15, 18, 30)  # 20:30 in Rome: the window closes at 21:00
MACHINE_NUMBERS = ("+393331000001", "+393331000002")
MACHINE_RULES = policy.Rules(consent_required=True, window_start=8.0, window_end=21.0, cap=0)


class OutboxMachine(RuleBasedStateMachine):
    """Enqueue, consent changes, clock, provider failures, crashes before and after the
    request, dispatch and resend, in any order, on the real outbox and a loopback
    provider. The oracle is ``tools/policy.py`` on the facts in the database (each
    number's consent state and blacklist entry) at the moment of each step:

    - nothing reaches the provider that the policy refuses or defers at dispatch;
    - a held SMS the policy refuses is canceled at once, with the policy's reason;
    - nothing is canceled that the policy allows, nothing is sent twice, and once the
      clock runs on, every SMS not canceled has reached the provider exactly once.
    """

    case = None  # the TestCase running it (set by the test)

    def __init__(self):
        super().__init__()
        case = self.case
        self.env = case.env
        self.savepoint = self.env.cr.savepoint()
        self.now = MACHINE_START
        self.partners = case.machine_partners
        self.outbox = self.env["sms.gateway.message"].sudo()
        self.canceled_seen = set()
        self.counter = 0
        case.provider.reset()

    def teardown(self):
        try:
            self.run_clock_until_all_settled()
        finally:
            self.savepoint.close(rollback=True)
            self.env.invalidate_all(flush=False)
            self.env.registry.clear_cache()
            self.case.provider.reset()

    # --- the oracle ---------------------------------------------------------------------

    def facts(self):
        """{number: (consent state, blacklisted)} as the database says now."""
        self.env.flush_all()
        self.env.invalidate_all()
        blacklisted = {
            row[0]
            for row in self.env.execute_query(
                SQL("SELECT number FROM phone_blacklist WHERE active")
            )
        }
        return {
            partner.phone_sanitized: (
                partner.sms_consent_state,
                partner.phone_sanitized in blacklisted,
            )
            for partner in self.partners
        }

    def oracle(self, message, facts, timing):
        consent, blacklisted = facts[message.number]
        recipient = policy.Recipient(
            e164=message.number, blacklisted=blacklisted, consent=consent, tz="Europe/Rome"
        )
        rules = dataclasses.replace(MACHINE_RULES, timing=timing)
        return policy.decide(message.sms_kind, recipient, rules, self.now)

    def received_refs(self):
        """{our SMS reference: times the provider got it}."""
        counts = {}
        for sms in self.case.provider.messages:
            ref = parse_qs(urlparse(sms["status_callback"]).query)["ref"][0]
            counts[ref] = counts.get(ref, 0) + 1
        return counts

    def step(self):
        return self.case.frozen_now(self.now)

    def dispatched(self, run):
        """Run ``run`` (something that sends); what reached the provider meanwhile was
        allowed by the policy on the facts just before."""
        facts, before = self.facts(), self.received_refs()
        with self.step():
            run()
        after = self.received_refs()
        for message in self.outbox.search([("sms_uuid", "in", list(after))]):
            if after[message.sms_uuid] > before.get(message.sms_uuid, 0):
                decision = self.oracle(message, facts, timing=True)
                assert decision.action == policy.SEND, (
                    f"{message.sms_kind} SMS to {message.number} sent at {self.now} "
                    f"against the policy ({decision}, facts {facts[message.number]})"
                )

    # --- rules --------------------------------------------------------------------------

    @rule(index=st.integers(0, 1), kind=st.sampled_from(policy.KINDS))
    def enqueue(self, index, kind):
        self.counter += 1
        facts = self.facts()
        with self.step():
            sent = self.env["sms.sender"]._send(
                [SmsRequest(body=f"SMS {self.counter}", partner=self.partners[index], kind=kind)]
            )
        message = sent[0].outbox
        decision = self.oracle(message, facts, timing=True)
        assert message.state == ("canceled" if decision.canceled else "queued"), decision
        if decision.canceled:
            assert message.error_code == decision.reason
            self.canceled_seen.add(message.id)

    @rule(
        index=st.integers(0, 1),
        change=st.sampled_from(["STOP", "START", "no marketing", "blacklist"]),
    )
    def change_consent(self, index, change):
        partner = self.partners[index]
        with self.step():
            if change in ("STOP", "START"):
                self.case.receive(change, sender=partner.phone_sanitized)
            elif change == "no marketing":
                partner._sms_marketing_opt_out("staff")
            else:
                self.env["phone.blacklist"].sudo().add(partner.phone_sanitized)

    @rule(minutes=st.one_of(st.integers(1, 90), st.integers(1, 36 * 60)))
    def let_time_pass(self, minutes):
        self.now += timedelta(minutes=minutes)

    @rule(kind=st.sampled_from(["server_error", "auth"]))
    def provider_fails_next(self, kind):
        self.case.provider.fail_next(kind=kind)

    @rule()
    def dispatch(self):
        self.dispatched(self.outbox._cron_dispatch)

    @rule(count=st.integers(1, 3))
    def crash_before_request(self, count):
        """A worker claims messages and dies before the request; the reconcile cron
        finds them missing at the provider and queues them again."""
        with self.step():
            claimed = self.outbox._claim_due(count)
            claimed.write({"claimed_at": self.now - timedelta(hours=1)})
            self.outbox._cron_reconcile()
        assert not claimed.filtered(lambda m: m.state == "sending")

    @rule(count=st.integers(1, 3))
    def crash_after_request(self, count):
        """A worker sends and dies before recording the result; the reconcile cron
        finds the messages at the provider and marks them sent."""

        def send_then_crash():
            claimed = self.outbox._claim_due(count)
            for gateway, messages in claimed.grouped("gateway_id").items():
                messages._send_claimed(gateway)
            sent = claimed.filtered(lambda m: m.state == "sent")
            sent.write(
                {
                    "state": "sending",
                    "provider_message_id": False,
                    "claimed_at": self.now - timedelta(hours=1),
                }
            )
            self.outbox._cron_reconcile()
            assert not claimed.filtered(lambda m: m.state == "sending")

        self.dispatched(send_then_crash)

    @rule()
    def resend_failed(self):
        with self.step():
            self.outbox.search([("state", "in", ("failed", "review"))]).action_resend()

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def policy_holds_for_held_and_canceled(self):
        facts = self.facts()
        assert all(count == 1 for count in self.received_refs().values()), "sent twice"
        messages = self.outbox.search([("number", "in", list(MACHINE_NUMBERS))])
        for message in messages:
            assert message.state != "sending", "a claim left behind"
            decision = self.oracle(message, facts, timing=False)
            if message.state == "queued":
                assert not decision.canceled, f"held against the policy: {decision}"
            elif message.state == "canceled" and message.id not in self.canceled_seen:
                assert (
                    decision.canceled and decision.reason == message.error_code
                ), f"canceled as {message.error_code}, the policy says {decision}"
                self.canceled_seen.add(message.id)

    def run_clock_until_all_settled(self):
        """The clock runs on, failures are resent: every SMS not canceled reaches the
        provider exactly once."""
        mine = [("number", "in", list(MACHINE_NUMBERS))]
        for _round in range(40):
            if not self.outbox.search_count([*mine, ("state", "in", ("queued", "failed"))]):
                break
            self.resend_failed()
            self.dispatch()
            self.policy_holds_for_held_and_canceled()
            # on to the next SMS due
            next_due = self.outbox.search(
                [*mine, ("state", "=", "queued")], order="due_at", limit=1
            )
            self.now = max(self.now, next_due.due_at or self.now)
        received = self.received_refs()
        for message in self.outbox.search([("number", "in", list(MACHINE_NUMBERS))]):
            if message.state == "canceled":
                assert message.sms_uuid not in received, "canceled after it was sent"
            else:
                assert message.state == "sent", f"{message.sms_kind} SMS left {message.state}"
                assert received.get(message.sms_uuid) == 1, "an allowed SMS was lost"


@tagged("post_install", "-at_install")
class TestOutboxStateMachine(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_frequency_cap = 0
        cls.gateway.max_attempts = 20
        cls.machine_partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Machine {index}",
                    "mobile": number,
                    "country_id": cls.env.ref("base.it").id,
                    "tz": "Europe/Rome",
                }
                for index, number in enumerate(MACHINE_NUMBERS)
            ]
        )
        cls.machine_partners[0]._sms_consent_set("opted_in", "staff", "signed form")

    def test_outbox_state_machine(self):
        OutboxMachine.case = self
        self.addCleanup(setattr, OutboxMachine, "case", None)
        run_state_machine_as_test(
            OutboxMachine,
            settings=settings(
                max_examples=30,
                stateful_step_count=14,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
