"""Received SMS are facts: over JSON-RPC, no employee, SMS user or SMS manager can
rewrite what the webhook stored, nor put a reply back in the worker's queue; staff link
replies to contacts and mark them handled; a manager runs a failed reply again, and the
reply says who did."""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import JsonRpcActorMixin, SmsJourneyHttpCase, new_sms_user

NUMBER = "+393331234567"
FORGED_START = {"body": "START", "pipeline_state": "received"}


@tagged("post_install", "-at_install")
class TestReceivedSmsAreFacts(JsonRpcActorMixin, SmsJourneyHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.employee = new_sms_user(cls.env, "facts_employee", groups="base.group_user")
        cls.sms_user = new_sms_user(cls.env, "facts_sms_user")
        cls.sms_manager = new_sms_user(
            cls.env, "facts_sms_manager", groups="sms_journey.group_sms_journey_manager"
        )
        cls.staff = (cls.employee, cls.sms_user, cls.sms_manager)

    def setUp(self):
        super().setUp()
        self.stop = self.receive("STOP", sender=NUMBER)
        self.assertEqual(self.stop.pipeline_state, "processed")
        self.assertTrue(self.partner.phone_sanitized_blacklisted)

    def assertRefused(self, error, user):
        self.assertTrue(error, f"{user.login} was not refused")
        self.assertEqual(error["name"], "odoo.exceptions.AccessError", error)

    def assertStillOptedOut(self):
        """Nothing is left for the worker, and the number stays opted out."""
        self.assertFalse(self.process_inbound())
        self.partner.invalidate_recordset()
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        self.assertEqual(self.stop.body, "STOP")
        self.assertEqual(self.stop.pipeline_state, "processed")

    def test_nobody_forges_a_start_by_writing_a_stop(self):
        for user in self.staff:
            self.login_jsonrpc(user)
            for vals in (FORGED_START, {"body": "START"}, {"pipeline_state": "received"}):
                with self.subTest(user=user.login, vals=vals):
                    _result, error = self.call_kw("sms.interaction", "write", [self.stop.id], vals)
                    self.assertRefused(error, user)
        self.assertStillOptedOut()

    def test_no_stored_field_nor_pipeline_field_is_writable(self):
        facts = {
            "number": "+393330000000",
            "recipient": "+15550000000",
            "received_at": "2020-01-01 00:00:00",
            "gateway_id": self.gateway.id,
            "provider_message_id": "SMforged",
            "media_urls": "https://example.com/x.png",
            "consent_action": "opt_in",
            "claimed_at": "2020-01-01 00:00:00",
            "last_error": "forged",
            "courtesy_sent": True,
            "reprocessed_by_id": self.sms_manager.id,
        }
        self.login_jsonrpc(self.sms_manager)
        for name, value in facts.items():
            with self.subTest(field=name):
                _result, error = self.call_kw(
                    "sms.interaction", "write", [self.stop.id], {name: value}
                )
                self.assertRefused(error, self.sms_manager)
        self.assertStillOptedOut()

    def test_nobody_creates_a_reply_for_the_worker(self):
        for user in self.staff:
            self.login_jsonrpc(user)
            with self.subTest(user=user.login):
                _result, error = self.call_kw(
                    "sms.interaction",
                    "create",
                    [{"number": NUMBER, "gateway_id": self.gateway.id, **FORGED_START}],
                )
                self.assertRefused(error, user)
        # not even the superuser puts a row in the queue through the ORM
        with self.assertRaises(AccessError):
            self.env["sms.interaction"].create(
                {"number": NUMBER, "gateway_id": self.gateway.id, **FORGED_START}
            )
        self.assertStillOptedOut()

    def test_not_even_the_superuser_rewrites_a_reply(self):
        with self.assertRaises(AccessError):
            self.stop.sudo().write(FORGED_START)
        with self.assertRaises(AccessError):
            self.stop.sudo().body = "START"
        self.assertStillOptedOut()

    def test_the_pipeline_path_is_private(self):
        self.login_jsonrpc(self.sms_manager)
        _result, error = self.call_kw(
            "sms.interaction", "_pipeline_write", [self.stop.id], FORGED_START
        )
        self.assertTrue(error)
        self.assertStillOptedOut()

    def test_staff_link_and_mark_handled_employees_do_not(self):
        unknown = self.receive("Who is this?", sender="+393339999999")
        other = self.env["res.partner"].create({"name": "Marco"})
        self.login_jsonrpc(self.employee)
        _result, error = self.call_kw("sms.interaction", "action_mark_handled", [unknown.id])
        self.assertRefused(error, self.employee)
        _result, error = self.call_kw(
            "sms.interaction", "write", [unknown.id], {"partner_id": other.id}
        )
        self.assertRefused(error, self.employee)
        self.login_jsonrpc(self.sms_user)
        _result, error = self.call_kw(
            "sms.interaction", "write", [unknown.id], {"partner_id": other.id}
        )
        self.assertFalse(error, error)
        _result, error = self.call_kw("sms.interaction", "action_mark_handled", [unknown.id])
        self.assertFalse(error, error)
        self.assertEqual((unknown.partner_id, unknown.state), (other, "handled"))
        # linked after processing, the reply lands on the contact's chatter
        self.assertTrue(unknown.mail_message_id)
        self.assertEqual(unknown.mail_message_id.res_id, other.id)

    def test_a_manager_runs_a_failed_reply_again_and_is_named(self):
        failed = self.store_inbound("Hello", sender=NUMBER)
        failed._pipeline_write({"pipeline_state": "failed", "last_error": "provider down"})
        for user in (self.employee, self.sms_user):
            self.login_jsonrpc(user)
            with self.subTest(user=user.login):
                _result, error = self.call_kw("sms.interaction", "action_reprocess", [failed.id])
                self.assertRefused(error, user)
        self.assertFalse(self.process_inbound())
        self.assertEqual(failed.pipeline_state, "failed")

        self.login_jsonrpc(self.sms_manager)
        # a processed reply is not run twice (its keywords would apply again)
        _result, error = self.call_kw("sms.interaction", "action_reprocess", [self.stop.id])
        self.assertEqual(error["name"], "odoo.exceptions.UserError", error)
        _result, error = self.call_kw("sms.interaction", "action_reprocess", [failed.id])
        self.assertFalse(error, error)
        self.assertEqual(failed.pipeline_state, "received")
        self.assertEqual(failed.reprocessed_by_id, self.sms_manager)
        self.assertTrue(failed.reprocessed_at)
        self.assertFalse(failed.last_error)
        self.assertEqual(self.process_inbound(), failed)
        self.assertEqual(failed.pipeline_state, "processed")
        self.assertEqual(failed.reprocessed_by_id, self.sms_manager)
