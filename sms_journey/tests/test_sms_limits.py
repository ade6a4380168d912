from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import (
    JsonRpcActorMixin,
    SmsJourneyCase,
    SmsJourneyHttpCase,
    new_sms_mailing,
    new_sms_user,
)

TOO_LONG = "a" * 1601  # one character past Twilio's 1,600
LONGEST = "a" * 1600
ELEVEN_SEGMENTS = "a" * (153 * 10 + 1)  # under Twilio's limit, past the 10 segments


class SmsLimitsMixin:
    def assertNothingQueued(self, body):
        self.env.invalidate_all()
        self.assertFalse(self.env["sms.sms"].sudo().search_count([("body", "=", body)]))
        self.assertFalse(
            self.env["sms.gateway.message"].sudo().search_count([("body", "=", body)]),
            "a refused text has no outbox row",
        )


@tagged("post_install", "-at_install")
class TestSmsLimitsReplyBox(JsonRpcActorMixin, SmsLimitsMixin, SmsJourneyHttpCase):
    """The contact's reply box refuses a text longer than the gateway takes, over
    JSON-RPC as in the web client, before anything is queued."""

    def test_reply_box_refuses_1601_characters_on_twilio(self):
        user = new_sms_user(self.env, "limits_replier")
        self.login_jsonrpc(user)
        result, error = self.call_kw(
            "res.partner", "sms_conversation_send", [self.partner.id], TOO_LONG
        )
        self.assertIsNone(result)
        self.assertEqual(error["name"], "odoo.exceptions.ValidationError")
        self.assertEqual(
            error["message"],
            "This SMS has 1,601 characters: Twilio accepts at most 1,600. Shorten the text.",
        )
        self.assertNothingQueued(TOO_LONG)
        # 1,600 characters go
        result, error = self.call_kw(
            "res.partner", "sms_conversation_send", [self.partner.id], LONGEST
        )
        self.assertIsNone(error)
        self.assertEqual(result["messages"][-1]["body"], LONGEST)

    def test_tour_counter_while_typing_and_refusal(self):
        self.start_tour(
            f"/odoo/res.partner/{self.partner.id}", "sms_journey_limits_reply_box", login="admin"
        )
        self.assertNothingQueued(TOO_LONG)

    def test_tour_template_counter_without_blur(self):
        self.start_tour("/odoo", "sms_journey_limits_template", login="admin")
        self.assertFalse(self.env["sms.template"].search([("name", "=", "Limits tour")]))


@tagged("post_install", "-at_install")
class TestSmsLimits(SmsLimitsMixin, SmsJourneyCase):
    """Every place a person types an SMS refuses a text the gateway would refuse, with
    the reason, before anything is queued; long templates need a confirmation."""

    def test_composer_refuses_before_queuing(self):
        for mode, context in (
            ("comment", {"default_res_model": "res.partner", "default_res_id": self.partner.id}),
            ("mass", {"default_res_model": "res.partner", "default_res_ids": self.partner.ids}),
        ):
            with self.subTest(mode=mode):
                composer = (
                    self.env["sms.composer"]
                    .with_context(default_composition_mode=mode, **context)
                    .create({"body": TOO_LONG})
                )
                with self.assertRaisesRegex(UserError, "Twilio accepts at most 1,600"):
                    composer.action_send_sms()
                self.assertNothingQueued(TOO_LONG)

    def test_chatter_sms_goes_through_the_composer(self):
        composer = (
            self.env["sms.composer"]
            .with_context(
                default_composition_mode="comment",
                default_res_model="res.partner",
                default_res_id=self.partner.id,
            )
            .create({"body": LONGEST})
        )
        composer.action_send_sms()
        self.assertTrue(self.env["sms.gateway.message"].search_count([("body", "=", LONGEST)]))

    def test_template_limit_and_long_text_confirmation(self):
        Template = self.env["sms.template"]
        model = self.env["ir.model"]._get_id("res.partner")
        with self.assertRaisesRegex(ValidationError, "1,601 characters: Twilio"):
            Template.create({"name": "Too long", "model_id": model, "body": TOO_LONG})
        with self.assertRaisesRegex(ValidationError, "more than 10 SMS segments"):
            Template.create({"name": "Long", "model_id": model, "body": ELEVEN_SEGMENTS})
        template = Template.create(
            {
                "name": "Long",
                "model_id": model,
                "body": ELEVEN_SEGMENTS,
                "long_text_confirmed": True,
            }
        )
        self.assertTrue(template.long_text)
        # ten segments need no confirmation
        short = Template.create({"name": "Ten", "model_id": model, "body": "a" * 1530})
        self.assertFalse(short.long_text)
        with self.assertRaisesRegex(ValidationError, "more than 10 SMS segments"):
            short.body = ELEVEN_SEGMENTS

    def test_journey_step_text_is_its_template(self):
        template = self.env["sms.template"].create(
            {"name": "Step", "model_id": self.env["ir.model"]._get_id("res.partner"), "body": "Hi"}
        )
        journey = self.env["sms.journey"].create({"name": "Limits"})
        step = self.env["sms.journey.step"].create(
            {"journey_id": journey.id, "action": "sms", "template_id": template.id}
        )
        with self.assertRaisesRegex(ValidationError, "Twilio accepts at most 1,600"):
            step.template_body = TOO_LONG

    def test_survey_question_and_mailing(self):
        with self.assertRaisesRegex(ValidationError, "Twilio accepts at most 1,600"):
            self.env["sms.survey.question"].create({"name": "Visit", "body": TOO_LONG})
        with self.assertRaisesRegex(ValidationError, "Twilio accepts at most 1,600"):
            new_sms_mailing(self.env, TOO_LONG)
        mailing = new_sms_mailing(self.env, "Short")
        with self.assertRaisesRegex(ValidationError, "Twilio accepts at most 1,600"):
            mailing.body_plaintext = TOO_LONG

    def test_vonage_limit_by_encoding(self):
        self.gateway.code = "vonage"
        model = self.env["ir.model"]._get_id("res.partner")
        with self.assertRaisesRegex(ValidationError, "661 characters: Vonage accepts at most 660"):
            self.env["sms.template"].create(
                {"name": "RO", "model_id": model, "body": "ș" * 661, "long_text_confirmed": True}
            )
        self.env["sms.template"].create(
            {"name": "EN", "model_id": model, "body": "a" * 3800, "long_text_confirmed": True}
        )

    def test_odoo_iap_has_no_hard_limit(self):
        self.company.sms_gateway_id = False
        self.assertFalse(self.env["sms.gateway"]._sms_length_refusal("a" * 5000))
        template = self.env["sms.template"].create(
            {
                "name": "IAP",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "a" * 5000,
                "long_text_confirmed": True,
            }
        )
        self.assertTrue(template.long_text)
