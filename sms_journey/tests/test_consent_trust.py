"""Who may change consent, tried as each actor over HTTP: JSON-RPC clients with the
former context keys, website visitors typing someone else's number."""

import re

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException, new_test_user

from .common import SmsJourneyCase, SmsJourneyHttpCase, new_sms_user

# Context keys that used to switch the consent write or the blacklist sync.
FORMER_CONSENT_KEYS = {"sms_journey_consent_write": True, "sms_journey_consent_sync": True}
STRANGER = "+393470001111"  # a number no contact has


@tagged("post_install", "-at_install")
class TestConsentOverJsonRpc(SmsJourneyHttpCase):
    """``write``/``create`` refuse the consent fields whatever the context; the staff
    buttons log every change whatever the context."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.employee = new_test_user(cls.env, login="plain_employee", groups="base.group_user")
        cls.contacts_employee = new_test_user(
            cls.env, login="contacts_employee", groups="base.group_user,base.group_partner_manager"
        )
        cls.sms_user = new_sms_user(
            cls.env,
            "consent_sms_user",
            groups="sms_journey.group_sms_journey_user,base.group_partner_manager",
        )

    def call(self, model, method, args, context=None):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {
                "model": model,
                "method": method,
                "args": args,
                "kwargs": {"context": dict(context or {})},
            },
        )

    def assertConsentUntouched(self):
        self.env.invalidate_all()
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertFalse(self.partner.sms_consent_proof)
        self.assertFalse(self.env["sms.consent.log"].search([("partner_id", "=", self.partner.id)]))

    def test_no_client_writes_the_consent_fields_with_or_without_the_former_keys(self):
        forged = {
            "sms_consent_state": "opted_in",
            "sms_consent_source": "keyword",
            "sms_consent_proof": "forged",
        }
        for user in (self.employee, self.contacts_employee, self.sms_user):
            self.authenticate(user.login, user.login)
            for context in ({}, FORMER_CONSENT_KEYS):
                with self.subTest(user=user.login, context=context):
                    with self.assertRaises(JsonRpcException):
                        self.call("res.partner", "write", [[self.partner.id], forged], context)
                    with self.assertRaises(JsonRpcException):
                        self.call("res.partner", "create", [dict(forged, name="X")], context)
                    self.assertConsentUntouched()

    def test_the_former_keys_skip_no_log_and_no_blacklist_sync(self):
        self.authenticate(self.sms_user.login, self.sms_user.login)
        self.call("res.partner", "action_sms_opt_out", [[self.partner.id]], FORMER_CONSENT_KEYS)
        self.env.invalidate_all()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        log = self.env["sms.consent.log"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual((log.action, log.scope, log.user_id), ("opted_out", "all", self.sms_user))
        # the staff opt-in form cannot lift it, whatever the context
        self.authenticate(self.sms_user.login, self.sms_user.login)
        wizard_id = self.call(
            "sms.consent.opt.in",
            "create",
            [{"partner_ids": [(6, 0, self.partner.ids)], "origin": "other", "proof": "trust me"}],
            FORMER_CONSENT_KEYS,
        )
        with self.assertRaises(JsonRpcException):
            self.call("sms.consent.opt.in", "action_record", [[wizard_id]], FORMER_CONSENT_KEYS)
        self.env.invalidate_all()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")

    def test_the_blacklist_sync_ignores_the_former_key(self):
        self.authenticate("admin", "admin")
        self.call("phone.blacklist", "add", [[], "+393331234567"], FORMER_CONSENT_KEYS)
        self.env.invalidate_all()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(self.partner.sms_consent_log_ids.source, "blacklist")

    def test_plain_employee_records_an_opt_out_but_no_opt_in(self):
        self.authenticate(self.employee.login, self.employee.login)
        with self.assertRaises(JsonRpcException):
            self.call("res.partner", "action_sms_opt_in", [[self.partner.id]])
        with self.assertRaises(JsonRpcException):
            self.call("res.partner", "action_sms_request_consent", [[self.partner.id]])
        with self.assertRaises(JsonRpcException):
            # private: not callable over RPC
            self.call("res.partner", "_sms_consent_set", [[self.partner.id], "opted_in", "keyword"])
        self.assertConsentUntouched()
        self.call("res.partner", "action_sms_marketing_opt_out", [[self.partner.id]])
        self.env.invalidate_all()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")


@tagged("post_install", "-at_install")
class TestConsentLogIsKept(SmsJourneyCase):
    def test_nobody_edits_or_deletes_log_rows(self):
        self.partner._sms_consent_set("opted_out", "staff", "phone call")
        log = self.partner.sms_consent_log_ids
        manager = new_sms_user(
            self.env, "log_manager", groups="sms_journey.group_sms_journey_manager"
        )
        admin = self.env.ref("base.user_admin")
        for env in (log.with_user(admin).env, log.with_user(manager).env):
            with self.subTest(user=env.user.login):
                with self.assertRaises(UserError):  # AccessError is one
                    log.with_env(env).write({"proof": "rewritten"})
                with self.assertRaises(UserError):  # AccessError is one
                    log.with_env(env).unlink()
        self.assertTrue(log.exists())
        self.assertEqual(log.proof, "phone call")


@tagged("post_install", "-at_install")
class TestWebsiteFormConsent(SmsJourneyHttpCase):
    """A public visitor posts the contact form with the SMS consent box ticked."""

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("website.recaptcha", False)

    def csrf_token(self):
        page = self.url_open("/contactus").text
        match = re.search(r"csrf_token[\"']?\s*[:=]\s*[\"']([0-9a-f]+o[0-9]+)", page)
        return match.group(1) if match else ""

    def post_form(self, number, new_session=False):
        if new_session:
            self.opener.cookies.clear()
        response = self.url_open(
            "/website/form/mail.mail",
            data={
                "csrf_token": self.csrf_token(),
                "email_from": "visitor@example.com",
                "subject": "Hello",
                "name": "Visitor",
                "phone": number,
                "sms_consent": "on",
                "website_form_signature": "",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        return response.json()

    def confirmations(self, number):
        self.dispatch()
        return [m for m in self.received(number) if "reply YES" in m["body"]]

    def test_a_visitor_cannot_undo_a_stop(self):
        self.partner._sms_consent_opt_out_number("+393331234567", "keyword", "STOP")
        self.post_form("+39 333 123 4567")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        self.assertFalse(self.confirmations("+393331234567"), "a blacklisted number got an SMS")

    def test_a_known_contact_is_not_opted_in_by_the_form(self):
        answer = self.post_form("+39 333 123 4567")
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertFalse(self.partner.sms_consent_log_ids)
        self.assertEqual(len(self.confirmations("+393331234567")), 1)
        stranger_answer = self.post_form(STRANGER, new_session=True)
        # the same answer for a known number, an unknown one, a stopped one
        self.assertEqual(set(answer), {"id"})
        self.assertEqual(set(stranger_answer), set(answer))
        self.partner._sms_consent_opt_out_number("+393331234567", "keyword", "STOP")
        self.assertEqual(set(self.post_form("+39 333 123 4567", new_session=True)), set(answer))

    def test_five_posts_send_one_confirmation_and_the_yes_opts_in(self):
        for _attempt in range(5):
            self.post_form(STRANGER)
        self.assertEqual(len(self.confirmations(STRANGER)), 1)
        self.assertFalse(self.env["res.partner"].search([("phone_sanitized", "=", STRANGER)]))
        self.post_inbound("YES", sender=STRANGER)
        contact = self.env["res.partner"].search([("phone_sanitized", "=", STRANGER)])
        self.assertEqual(contact.sms_consent_state, "opted_in")
        self.assertEqual(contact.sms_consent_source, "keyword")
        self.assertIn("Text shown:", contact.sms_consent_proof)

    def test_confirmations_are_limited_per_session_and_per_address(self):
        numbers = [f"+3934700022{i:02d}" for i in range(5)]
        for number in numbers:
            self.post_form(number)
        sent_in_one_session = sum(len(self.confirmations(n)) for n in numbers)
        self.assertEqual(sent_in_one_session, 3)
        more = [f"+3934700033{i:02d}" for i in range(3)]
        for number in more:
            self.post_form(number, new_session=True)
        # the same address: nothing more today
        self.assertFalse(sum(len(self.confirmations(n)) for n in more))

    def test_sign_up_with_someone_elses_number_opts_nobody_in(self):
        self.env["ir.config_parameter"].sudo().set_param("auth_signup.invitation_scope", "b2c")
        self.partner._sms_consent_opt_out_number("+393331234567", "keyword", "STOP")
        page = self.url_open("/web/signup").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = self.url_open(
            "/web/signup",
            data={
                "csrf_token": token,
                "login": "mallory@example.com",
                "name": "Mallory",
                "password": "mallory-password-1",
                "confirm_password": "mallory-password-1",
                "sms_phone": "+39 333 123 4567",
                "sms_consent": "on",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertTrue(self.env["res.users"].search([("login", "=", "mallory@example.com")]))
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        self.assertFalse(self.confirmations("+393331234567"))
