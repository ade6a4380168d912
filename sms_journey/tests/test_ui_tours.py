import json

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged

from .common import SmsJourneyHttpCase


@tagged("post_install", "-at_install")
class TestUiTours(HttpCase):
    """Backend screens in a real browser (headless Chromium)."""

    def test_journey_form(self):
        self.start_tour("/odoo", "sms_journey_journey_form", login="admin")

    def test_template_body_counter(self):
        self.start_tour("/odoo", "sms_journey_body_counter", login="admin")

    def test_flow_builds_a_two_branch_journey(self):
        self.env["sms.template"].create(
            {
                "name": "Flow tour template",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hello {{ object.name }}",
            }
        )
        self.start_tour("/odoo", "sms_journey_flow_build", login="admin")
        journey = self.env["sms.journey"].search([("name", "=", "Flow tour journey")])
        self.assertEqual(journey.state, "running")
        # the step discarded in its dialog was never created
        self.assertEqual(len(journey.step_ids), 4)
        self.assertEqual(
            set(journey.step_ids.filtered(lambda s: s.action == "sms").template_id.mapped("name")),
            {"Flow tour template"},
        )
        branch = journey.step_ids.filtered(lambda s: s.action == "branch")
        self.assertEqual(len(branch), 1)
        self.assertEqual(
            sorted(branch.child_ids.mapped("branch_side")), ["no", "yes"], "one step per path"
        )
        self.assertEqual(
            journey.step_ids.filtered(lambda s: not s.parent_id).sorted().mapped("action"),
            ["sms", "branch"],
        )


@tagged("post_install", "-at_install")
class TestUiToursProveBehaviour(SmsJourneyHttpCase):
    """Tours of the screens a user works in, each followed by what it must have done in
    the database (a sandbox gateway on ``SmsJourneyMixin``'s provider delivers)."""

    gateway_code = "sandbox"
    NUMBER = "+393331234567"

    def test_build_a_journey_and_preview_it(self):
        self.env["sms.template"].create(
            {
                "name": "Welcome tour template",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Welcome {{ object.name }}, 10€ off your next order",
            }
        )
        recipient = self.env["res.partner"].create(
            {"name": "Tour Recipient", "mobile": "+393331112233", "country_id": self.ref("base.it")}
        )
        recipient._sms_consent_set("opted_in", source="staff", proof="test")
        self.start_tour("/odoo", "sms_journey_build_and_preview", login="admin")
        journey = self.env["sms.journey"].search([("name", "=", "Welcome tour journey")])
        self.assertEqual(journey.step_ids.mapped("action"), ["sms"])
        self.assertEqual(journey.step_ids.template_id.name, "Welcome tour template")
        preview = self.env["sms.journey.preview"].search([("journey_id", "=", journey.id)])
        line = preview.line_ids.filtered(lambda line: line.partner_id == recipient)
        self.assertEqual(line.step_id, journey.step_ids)
        self.assertEqual(line.body, "Welcome Tour Recipient, 10€ off your next order")
        self.assertFalse(line.skip_reason)
        self.assertEqual(journey.state, "draft", "a preview sends nothing")
        self.assertFalse(self.outbox())

    def test_answer_a_reply_from_the_conversation(self):
        self.send_on(self.partner, "Your order is being prepared")
        self.receive("Is my order ready?")
        self.start_tour(
            f"/odoo/res.partner/{self.partner.id}", "sms_journey_answer_reply", login="admin"
        )
        answer = self.outbox(body="Yes, come by at 5pm")
        self.assertEqual(answer.state, "queued")
        self.assertEqual((answer.partner_id, answer.number), (self.partner, self.NUMBER))
        self.assertEqual(answer.sms_kind, "transactional")
        self.dispatch()
        self.assertSmsSent(self.NUMBER, "Yes, come by at 5pm")

    def test_composer_counter(self):
        self.start_tour(
            f"/odoo/res.partner/{self.partner.id}", "sms_journey_composer_counter", login="admin"
        )
        sent = self.outbox(body="Price: 10€ [promo] {code}")
        self.assertEqual(len(sent), 1, "the composer sent the last text typed")
        # what the counter showed is what the outbox records: 30 septets, GSM-7, 1 segment
        self.assertEqual((sent.encoding, sent.segments), ("GSM-7", 1))
        self.dispatch()
        self.assertSmsSent(self.NUMBER, "Price: 10€ [promo] {code}")

    def test_mass_composer_counter(self):
        self.start_tour("/odoo/contacts?view_type=list", "sms_journey_mass_composer_counter",
                        login="admin")  # fmt: skip
        self.assertFalse(self.outbox(), "the composer was closed without sending")

    def test_stop_from_the_sandbox_phone(self):
        shipped = self.send_on(self.partner, "Your order shipped")
        self.post_status(shipped, "delivered")
        self.start_tour("/odoo", "sms_journey_sandbox_stop", login="admin")
        stop = self.env["sms.interaction"].search([("body", "=", "STOP")])
        self.assertEqual((stop.gateway_id, stop.number), (self.gateway, self.NUMBER))
        self.process_inbound()
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        self.start_tour("/odoo", "sms_journey_sandbox_stop_confirmed", login="admin")

    def test_sandbox_phone_menu_needs_a_sandbox_gateway(self):
        menu = self.env.ref("sms_journey.sms_sandbox_phone_menu")
        Menu = self.env["ir.ui.menu"].with_user(self.ref("base.user_admin"))
        self.assertIn(menu.id, Menu._visible_menu_ids())
        self.env["sms.gateway"].search([("code", "=", "sandbox")]).write({"code": "twilio"})
        self.assertNotIn(menu.id, Menu._visible_menu_ids())

    def test_sandbox_phone_refuses_numbers_it_did_not_text(self):
        self.send_on(self.partner, "Hello")
        with self.assertRaises(ValidationError):
            self.env["sms.gateway"].sandbox_phone_reply("+393339999999", "STOP")
        self.gateway.code = "twilio"
        with self.assertRaises(ValidationError):
            self.env["sms.gateway"].sandbox_phone_reply(self.NUMBER, "STOP")
        self.assertFalse(self.env["sms.interaction"].search([("body", "=", "STOP")]))


@tagged("post_install", "-at_install")
class TestUiLiveScreens(SmsJourneyHttpCase):
    """Screens that move with the bus (``sms_conversation_live.py``), websockets on."""

    def test_delivery_tick_changes_without_reload(self):
        shipped = self.send_on(self.partner, "Your order shipped")
        self.assertEqual(shipped.state, "sent")
        report = self.signed_status_report(shipped, "delivered")
        self.env["ir.config_parameter"].set_param(
            "sms_journey.tour_status_report", json.dumps(report)
        )
        with self.live_bus():
            self.start_tour(
                f"/odoo/res.partner/{self.partner.id}", "sms_journey_live_ticks", login="admin"
            )
        shipped.invalidate_recordset()
        self.assertEqual(shipped.state, "delivered", "the browser posted the report")
