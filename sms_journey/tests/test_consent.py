from odoo.tests import tagged

from .common import SmsJourneyCase


@tagged("post_install", "-at_install")
class TestConsent(SmsJourneyCase):
    def test_default_state_is_unknown(self):
        self.assertEqual(self.partner.sms_consent_state, "unknown")

    def test_opt_in_and_out_are_logged_with_proof(self):
        self.partner._sms_consent_set("opted_in", "web_form", "Checkbox text v3, IP 10.0.0.1")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertEqual(self.partner.sms_consent_source, "web_form")
        self.assertTrue(self.partner.sms_consent_date)
        self.partner._sms_consent_set("opted_out", "staff", "Phone call")
        logs = self.partner.sms_consent_log_ids.sorted("id")
        self.assertEqual(logs.mapped("action"), ["opted_in", "opted_out"])
        self.assertEqual(logs[0].proof, "Checkbox text v3, IP 10.0.0.1")
        self.assertEqual(logs[1].number, "+393331234567")
        self.assertEqual(logs[1].user_id, self.env.user)

    def test_marketing_opt_out_keeps_the_number_off_the_blacklist(self):
        self.partner._sms_consent_set("opted_in", "staff")
        self.partner._sms_marketing_opt_out("api", "journey: no reaction")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertFalse(self.partner.phone_sanitized_blacklisted)
        log = self.partner.sms_consent_log_ids.sorted("id")[-1]
        self.assertEqual(
            (log.action, log.scope, log.proof), ("opted_out", "marketing", "journey: no reaction")
        )

    def test_consent_state_written_directly_goes_through_the_consent_method(self):
        self.partner.write({"sms_consent_state": "opted_in"})
        log = self.partner.sms_consent_log_ids
        self.assertEqual((log.action, log.source), ("opted_in", "staff"))
        imported = (
            self.env["res.partner"]
            .with_context(import_file=True)
            .create(
                {"name": "Imported", "mobile": "+39 333 555 0000", "sms_consent_state": "opted_in"}
            )
        )
        self.assertEqual(imported.sms_consent_state, "opted_in")
        self.assertEqual(imported.sms_consent_log_ids.source, "import")
        self.env["phone.blacklist"]._add(["+393335550000"])
        imported.with_context(import_file=True).write({"sms_consent_state": "opted_in"})
        # START by import: the blacklist follows the consent state
        self.assertFalse(imported.phone_sanitized_blacklisted)

    def test_opt_out_goes_through_phone_blacklist(self):
        self.partner._sms_consent_set("opted_out", "staff", stop=True)
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        blacklist = self.env["phone.blacklist"].search([("number", "=", "+393331234567")])
        self.assertTrue(blacklist.active)
        self.partner._sms_consent_set("opted_in", "staff")
        self.assertFalse(self.partner.phone_sanitized_blacklisted)
        self.assertFalse(blacklist.active)

    def test_blacklist_from_odoo_updates_consent(self):
        """Odoo's own unsubscribe paths use phone.blacklist: consent follows."""
        self.partner._sms_consent_set("opted_in", "staff")
        self.env["phone.blacklist"]._add(["+393331234567"])
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(self.partner.sms_consent_log_ids.sorted("id")[-1].source, "blacklist")
        self.env["phone.blacklist"]._remove(["+393331234567"])
        self.assertEqual(self.partner.sms_consent_state, "unknown")

    def test_staff_buttons(self):
        self.partner.action_sms_opt_in()
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.partner.action_sms_opt_out()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")

    def test_double_opt_in_request_sends_confirmation_sms(self):
        self.partner.action_sms_request_consent()
        self.assertEqual(self.partner.sms_consent_state, "pending")
        self.dispatch()
        sent = self.received("+393331234567")
        self.assertEqual(len(sent), 1)
        self.assertIn("reply YES", sent[0]["body"])

    def test_keywords_seeded_in_all_languages(self):
        keywords = self.env["sms.consent.keyword"].search([])
        self.assertTrue({"en", "it", "ro", "es", "fr", "de"} <= set(keywords.mapped("lang")))
        classify = self.env["sms.consent.keyword"]._classify
        self.assertEqual(classify("stop"), "opt_out")
        self.assertEqual(classify("Stop please"), "opt_out")
        self.assertEqual(classify("START"), "opt_in")
        self.assertEqual(classify("help"), "help")
        self.assertEqual(classify("yes"), "confirm")
        self.assertIsNone(classify("hello there"))

    def test_keywords_are_editable_data(self):
        self.assertIsNone(self.env["sms.consent.keyword"]._classify("BASTAAA"))
        self.env["sms.consent.keyword"].create({"name": "BASTAAA", "family": "opt_out"})
        self.assertEqual(self.env["sms.consent.keyword"]._classify("bastaaa"), "opt_out")
        self.env["sms.consent.keyword"].search([("name", "=", "STOP")]).action_archive()
        self.assertNotEqual(self.env["sms.consent.keyword"]._classify("STOP"), "opt_out")
