from odoo.exceptions import UserError
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
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        self.partner._sms_marketing_opt_out("api", "journey: no reaction")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertFalse(self.partner.phone_sanitized_blacklisted)
        log = self.partner.sms_consent_log_ids.sorted("id")[-1]
        self.assertEqual(
            (log.action, log.scope, log.proof), ("opted_out", "marketing", "journey: no reaction")
        )

    def test_consent_fields_cannot_be_written_directly(self):
        for vals in (
            {"sms_consent_state": "opted_in"},
            {"sms_consent_state": "opted_out"},
            {"sms_consent_proof": "forged"},
            {"sms_consent_source": "keyword"},
            {"sms_consent_date": "2026-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                self.partner.write(vals)
            with self.subTest(vals=vals), self.assertRaises(UserError):
                self.env["res.partner"].create(dict(vals, name="New"))
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertFalse(self.partner.sms_consent_log_ids)
        # what changes nothing passes: a new contact's empty consent, the current values
        self.env["res.partner"].create({"name": "New", "sms_consent_state": "unknown"})
        self.partner.write({"sms_consent_state": "unknown", "name": "Giulia R."})
        self.assertEqual(self.partner.name, "Giulia R.")

    def test_merging_contacts_keeps_the_kept_contacts_consent(self):
        other = self.env["res.partner"].create({"name": "Giulia (copy)", "email": "g@x.com"})
        other._sms_consent_set("opted_in", "staff", "signed form #9")
        wizard = self.env["base.partner.merge.automatic.wizard"]
        wizard._merge((self.partner | other).ids, self.partner)
        self.assertFalse(other.exists())
        self.assertEqual(self.partner.sms_consent_state, "unknown")
        self.assertFalse(self.partner.sms_consent_proof)
        # the merged contact's history moved to the one kept
        self.assertEqual(self.partner.sms_consent_log_ids.proof, "signed form #9")

    def test_import_goes_through_the_consent_method(self):
        self.env["phone.blacklist"]._add(["+393335550000"])
        result = self.env["res.partner"].load(
            ["name", "mobile", "sms_consent_state", "sms_consent_proof"],
            [
                ["Imported in", "+39 333 555 1111", "opted_in", "Paper form #12"],
                ["Imported out", "+39 333 555 2222", "opted_out", ""],
            ],
        )
        self.assertFalse(
            [m for m in result["messages"] if m["type"] == "error"], result["messages"]
        )
        imported_in, imported_out = self.env["res.partner"].browse(result["ids"])
        self.assertEqual(imported_in.sms_consent_state, "opted_in")
        self.assertEqual(
            (imported_in.sms_consent_log_ids.source, imported_in.sms_consent_log_ids.proof),
            ("import", "Paper form #12"),
        )
        self.assertEqual(imported_out.sms_consent_state, "opted_out")
        self.assertEqual(imported_out.sms_consent_source, "import")

    def test_import_refuses_an_opt_in_without_proof_or_over_a_stop(self):
        stopped = self.env["res.partner"].create({"name": "Stopped", "mobile": "+39 333 555 0000"})
        stopped._sms_consent_opt_out_number("+393335550000", "keyword", "STOP")
        for row in (
            ["Imported", "+39 333 555 3333", "opted_in", ""],
            [stopped.id, "+39 333 555 0000", "opted_in", "Paper form #13"],
            ["Imported", "+39 333 555 4444", "opted_in", "x", "2026-01-01 00:00:00"],
        ):
            columns = [".id" if isinstance(row[0], int) else "name", "mobile"]
            extra = ["sms_consent_state", "sms_consent_proof", "sms_consent_date"]
            columns += extra[: len(row) - 2]
            with self.subTest(row=row):
                result = self.env["res.partner"].load(columns, [[str(v) for v in row]])
                errors = [m for m in result["messages"] if m["type"] == "error"]
                self.assertTrue(errors, result)
        self.assertEqual(stopped.sms_consent_state, "opted_out")
        self.assertTrue(stopped.phone_sanitized_blacklisted)

    def test_only_the_contact_lifts_a_stop(self):
        self.partner._sms_consent_set("opted_out", "keyword", "STOP", stop=True)
        self.assertTrue(self.partner.phone_sanitized_blacklisted)
        blacklist = self.env["phone.blacklist"].search([("number", "=", "+393331234567")])
        self.assertTrue(blacklist.active)
        for source in ("staff", "import", "api", "web_form", "checkout", "blacklist"):
            for state in ("opted_in", "pending", "unknown"):
                with self.subTest(source=source, state=state), self.assertRaises(UserError):
                    self.partner._sms_consent_set(state, source, "a proof")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        # START from the number
        self.partner._sms_consent_opt_in_number("+393331234567", "keyword", "START")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertFalse(self.partner.phone_sanitized_blacklisted)
        self.assertFalse(blacklist.active)

    def test_staff_opt_out_blocks_staff_opt_in_only_when_blacklisted(self):
        self.partner._sms_consent_set("opted_out", "staff", "no marketing, asked by phone")
        self.partner._sms_consent_set("opted_in", "staff", "signed form #3")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.partner._sms_consent_set("opted_out", "staff", "stop all", stop=True)
        with self.assertRaises(UserError):
            self.partner._sms_consent_set("opted_in", "staff", "signed form #4")

    def test_blacklist_from_odoo_updates_consent(self):
        """Odoo's own unsubscribe paths use phone.blacklist: consent follows."""
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        self.env["phone.blacklist"]._add(["+393331234567"])
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(self.partner.sms_consent_log_ids.sorted("id")[-1].source, "blacklist")
        self.env["phone.blacklist"]._remove(["+393331234567"])
        self.assertEqual(self.partner.sms_consent_state, "unknown")

    def test_removing_a_number_from_the_blacklist_keeps_the_contacts_stop(self):
        self.partner._sms_consent_opt_out_number("+393331234567", "keyword", "STOP")
        self.env["phone.blacklist"]._remove(["+393331234567"])
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertEqual(self.partner.sms_consent_source, "keyword")

    def test_staff_buttons(self):
        action = self.partner.action_sms_opt_in()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"origin": "phone_call", "proof": "Call of 2 March, agreed to offers"})
        )
        wizard.action_record()
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.assertIn("Call of 2 March", self.partner.sms_consent_proof)
        self.assertIn("Phone call", self.partner.sms_consent_proof)
        self.partner.action_sms_opt_out()
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        with self.assertRaises(UserError):
            self.partner._sms_staff_opt_in("Signed form", "   ")

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
