"""The README's "Five minutes with the demo", played in a browser on the demo data.

Runs only on a database installed with the demo data: tagged ``sms_journey_demo`` and
not ``standard``, so ``--test-tags /sms_journey`` leaves it out; ``scripts/test.sh``
runs it on the fresh demo database of its demo check (``--test-tags sms_journey_demo``).
Elsewhere, selected by its tag, the class says it was skipped and why.

The tour parts (``static/tests/tours/sms_journey_story_tour.js``) do what the README
tells the user to do and check what it says they see; between them this test does what
the server does on its own — the crons, the sandbox provider's delivery reports — and
checks the database. The server's log must stay free of errors throughout.
"""

import logging
from contextlib import contextmanager

from odoo.tests import HttpCase, tagged

from ..tools.gateways.loopback import TwilioFormatServer

ANDREI = "+40722345678"


class _ErrorRecords(logging.Handler):
    """Keeps the ERROR (and worse) records logged while installed."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@tagged("post_install", "-at_install", "-standard", "sms_journey_demo")
class TestDemoStory(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.andrei = cls.env.ref(
            "sms_journey.res_partner_journey_demo_andrei", raise_if_not_found=False
        )
        if not cls.andrei:
            return
        cls.cart = cls.env.ref("sms_journey.sale_order_journey_demo_cart")
        cls.journey = cls.env.ref("sms_journey.sms_journey_abandoned_cart")
        cls.gateway = cls.env.ref("sms_journey.sms_gateway_sandbox_demo").sudo()
        # The sandbox provider scripts/run.sh starts, here for the class, with the demo
        # gateway's own credentials; it reports delivery when the test says so.
        cls.provider = TwilioFormatServer(
            auth_token=cls.gateway.auth_token, account_sid=cls.gateway.account_sid
        )
        cls.provider.start()
        cls.addClassCleanup(cls.provider.stop)
        cls.gateway.api_url = cls.provider.url
        # Marketing SMS wait for the send window (8:00-21:00 in Andrei's time zone):
        # open it all day, the test may run at night (as scripts/screenshots.py does).
        cls.env.ref("base.main_company").write(
            {"sms_send_window_start": 0.0, "sms_send_window_end": 24.0}
        )

    def setUp(self):
        super().setUp()
        if not self.andrei:
            self.skipTest("sms_journey's demo data is not installed on this database")

    # what the server does on its own ----------------------------------------------

    def run_journey_crons(self):
        """The enrolment cron, the step cron and the outbox, as the server runs them."""
        self.env["sms.journey"]._cron_enrol()
        self.env["sms.journey.participant"]._cron_execute_due()
        self.dispatch()

    def dispatch(self):
        self.env["sms.gateway.message"]._cron_dispatch()
        self.env.invalidate_all()

    def deliver(self, outbox):
        """The provider reports the SMS sent, then delivered (signed callbacks)."""
        self.env.flush_all()  # the callbacks run on the same transaction
        for status in ("sent", "delivered"):
            self.provider.post_status(outbox.provider_message_id, status)
        self.env.invalidate_all()
        self.assertEqual(outbox.state, "delivered")

    def process_inbound(self):
        Interaction = self.env["sms.interaction"].sudo()
        while Interaction._cron_process_received():
            pass
        self.env.invalidate_all()

    def outbox_to_andrei(self):
        return self.env["sms.gateway.message"].search([("number", "=", ANDREI)], order="id")

    def tour(self, name, url="/odoo"):
        self.start_tour(url, name, login="admin")
        self.env.invalidate_all()
        # After a tour Odoo's test server takes only requests with the browser's test
        # cookie; the provider's delivery reports come without it, as from the provider.
        self.http_request_strict_check = False

    @contextmanager
    def assertNoErrorLogged(self):
        handler = _ErrorRecords()
        logger = logging.getLogger("odoo")
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
        self.assertFalse(
            [f"{r.name}: {r.getMessage()}" for r in handler.records],
            "errors in the server log during the story",
        )

    # the story ----------------------------------------------------------------------

    def test_five_minutes_with_the_demo(self):
        with self.assertNoErrorLogged():
            self._play_story()

    def _play_story(self):
        Participant = self.env["sms.journey.participant"]
        # The server just started: its crons run at once. The abandoned-cart journey is
        # in draft, so nobody texts Andrei before the user previews it.
        self.assertEqual(self.journey.state, "draft")
        self.assertTrue(self.cart.is_abandoned_cart, "listed in Abandoned Carts")
        self.run_journey_crons()
        self.assertFalse(Participant.search([("partner_id", "=", self.andrei.id)]))
        self.assertFalse(self.outbox_to_andrei())

        # 1-2. his cart among the abandoned carts; the journey's preview; Start
        self.tour("sms_journey_story_cart")
        self.assertEqual(self.journey.state, "running")
        preview = self.env["sms.journey.preview"].search([("journey_id", "=", self.journey.id)])
        line = preview.line_ids.filtered(lambda line: line.partner_id == self.andrei)
        self.assertEqual(len(line), 1)
        self.assertIn(f"/shop/cart?access_token={self.cart.access_token}", line.body)
        self.assertFalse(line.skip_reason)
        self.assertGreater(line.segments, 0)
        # Odoo's own demo carts (Gemini Furniture) are previewed too, skipped: no consent
        others = preview.line_ids - line
        self.assertEqual(set(others.partner_id.mapped("name")), {"Gemini Furniture"})
        self.assertTrue(all(others.mapped("skip_reason")))
        self.assertFalse(self.outbox_to_andrei(), "a preview sends nothing")

        # 3. it sends: the crons, run at once after Start, enrol the cart and run its
        # step, the outbox sends
        self.run_journey_crons()
        participant = Participant.search(
            [("journey_id", "=", self.journey.id), ("partner_id", "=", self.andrei.id)]
        )
        self.assertEqual(participant.source_res_id, self.cart.id)
        sms = self.outbox_to_andrei()
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.state, "sent")
        # what the preview showed is what was sent, its link made a tracked short link
        cart_url = f"{self.cart.get_base_url()}/shop/cart?access_token={self.cart.access_token}"
        self.assertTrue(line.body.endswith(cart_url))
        tracker = self.env["link.tracker"].search([("url", "=", cart_url)])
        trace = self.env["sms.journey.trace"].search([("participant_id", "=", participant.id)])
        self.assertEqual(sms.body.split("http")[0], line.body.split("http")[0])
        self.assertIn(f"/r/{tracker.code}/j/{trace.id}/", sms.body)
        received = [m for m in self.provider.messages if m["to"] == ANDREI]
        self.assertEqual([m["body"] for m in received], [sms.body])
        self.deliver(sms)

        # 4. the SMS on the Sandbox phone; his answer enters the inbound pipeline
        self.tour("sms_journey_story_phone")
        self.process_inbound()
        reply = self.env["sms.interaction"].search([("number", "=", ANDREI)])
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.partner_id, self.andrei)
        self.assertEqual(reply.sms_journey_trace_id, trace)
        self.assertTrue(trace.replied_at)
        # a reply no rule understands gets the courtesy reply of the settings
        courtesy = self.outbox_to_andrei() - sms
        self.assertEqual(len(courtesy), 1)
        self.assertTrue(courtesy.body.startswith("Thank you for your message"))
        self.dispatch()
        self.deliver(courtesy)

        # 5-6. the reply on the contact, answered from there; the composer's counter
        self.tour("sms_journey_story_contact", url=f"/odoo/res.partner/{self.andrei.id}")
        answer = self.outbox_to_andrei() - sms - courtesy
        self.assertEqual(answer.mapped("body"), ["Yes, two blue sets left. Your cart is saved."])
        self.assertEqual(answer.sms_kind, "transactional")
        self.dispatch()
        self.deliver(answer)
        self.assertEqual(
            [m["body"] for m in self.provider.messages if m["to"] == ANDREI],
            [sms.body, courtesy.body, answer.body],
            "the composer was closed without sending",
        )

        # 7. he buys: the order is attributed to the journey's SMS
        self.tour("sms_journey_story_order")
        self.assertEqual(self.cart.state, "sale")
        self.assertEqual(self.cart.sms_journey_id, self.journey)
        self.assertEqual(self.cart.sms_journey_trace_id, trace)
        self.assertEqual(self.cart.sms_attribution_kind, "delivery")

        # ... and he stops: STOP from his phone, processed, confirmed on his phone
        self.tour("sms_journey_story_stop")
        self.process_inbound()
        self.dispatch()
        self.assertEqual(self.andrei.sms_consent_state, "opted_out")
        self.assertTrue(self.andrei.phone_sanitized_blacklisted)
        confirmation = self.outbox_to_andrei() - sms - courtesy - answer
        self.assertEqual(len(confirmation), 1)
        self.assertEqual(confirmation.state, "sent")

        # 8. the journey's results
        self.tour("sms_journey_story_results")
        self.journey.invalidate_recordset()
        self.assertEqual(
            (self.journey.sent_count, self.journey.delivered_count, self.journey.replied_count),
            (1, 1, 1),
        )
        self.assertEqual(self.journey.order_count, 1)
        self.assertEqual(self.journey.revenue, self.cart.sms_attributed_revenue)
        self.assertGreater(self.journey.revenue, 0)
        self.assertEqual(self.journey.cost, self.journey.sms_currency_id.round(sms.cost))
        self.assertGreater(self.journey.roas, 0)
