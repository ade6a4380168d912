"""Keywords, contests and digests act inside the company of their gateway or record."""

import uuid
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models.bulk_sql import add_filled_column
from ..models.sms_consent_log import FILL_COMPANY
from ..tools.gateways.base import InboundPart, InboundSms
from .common import SmsJourneyCase, new_company_actors, new_partner_template

NUMBER = "+393331112233"


@tagged("post_install", "-at_install")
class TestCompanies(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_company_actors(cls.env, "companies")
        values = dict(
            cls._gateway_values(),
            name="Other company's sandbox",
            sender="+15005550007",
            company_id=cls.other.company.id,
        )
        cls.other_gateway = cls.env["sms.gateway"].create(values)
        cls.other.company.sms_gateway_id = cls.other_gateway
        Partner = cls.env["res.partner"]
        cls.ours = Partner.create({"name": "Ours", "mobile": NUMBER, "company_id": cls.company.id})
        cls.theirs = Partner.create(
            {"name": "Theirs", "mobile": NUMBER, "company_id": cls.other.company.id}
        )
        cls.shared = Partner.create({"name": "Shared", "mobile": NUMBER})

    def receive_on(self, gateway, body, sender=NUMBER, process=True):
        interaction = self.env["sms.interaction"]._receive(
            gateway,
            InboundSms(
                provider_message_id=f"SM{uuid.uuid4().hex}",
                sender=sender,
                recipient=gateway.sender,
                body=body,
            ),
        )
        if process:
            self.process_inbound()
        return interaction

    def states(self):
        partners = self.ours | self.theirs | self.shared
        partners.invalidate_recordset()
        return {p.name: p.sms_consent_state for p in partners}

    # consent keywords -------------------------------------------------------------

    def test_start_on_a_gateway_resubscribes_only_its_company_contacts(self):
        (self.ours | self.theirs | self.shared)._sms_consent_set(
            "opted_out", "keyword", "STOP", NUMBER, stop=True
        )
        reply = self.receive_on(self.other_gateway, "START")
        self.assertEqual(reply.consent_action, "opt_in")
        self.assertEqual(
            self.states(), {"Ours": "opted_out", "Theirs": "opted_in", "Shared": "opted_in"}
        )
        self.assertNotEqual(reply.partner_id, self.ours)

    def test_stop_on_a_gateway_opts_out_only_its_company_contacts(self):
        (self.ours | self.theirs | self.shared)._sms_consent_set(
            "opted_in", "staff", "Signed form", NUMBER
        )
        self.receive_on(self.other_gateway, "STOP")
        self.assertEqual(
            self.states(), {"Ours": "opted_in", "Theirs": "opted_out", "Shared": "opted_out"}
        )

    def test_reply_is_linked_to_a_contact_of_the_gateway_company(self):
        (self.theirs | self.shared).write({"active": False})
        reply = self.receive_on(self.other_gateway, "Hello there")
        self.assertFalse(reply.partner_id, "another company's contact is not the sender")
        reply = self.receive_on(self.gateway, "Hello there")
        self.assertEqual(reply.partner_id, self.ours)

    def test_consent_log_company(self):
        self.ours._sms_consent_set("opted_in", "staff", "Signed form", NUMBER)
        self.shared._sms_consent_set("opted_in", "staff", "Signed form", NUMBER)
        logs = self.env["sms.consent.log"].search([("number", "=", NUMBER)])
        by_partner = {log.partner_id: log.company_id for log in logs}
        self.assertEqual(by_partner[self.ours], self.company)
        self.assertFalse(by_partner[self.shared], "a shared contact's log is shared")
        # a number with no contact: the company of the gateway the STOP came in on
        self.receive_on(self.other_gateway, "STOP", sender="+393339990000")
        log = self.env["sms.consent.log"].search([("number", "=", "+393339990000")])
        self.assertEqual(log.company_id, self.other.company)
        # the contact deleted, a log it leaves keeps its company
        ours = logs.filtered(lambda log: log.partner_id == self.ours)
        self.ours.unlink()
        for log in ours.exists():
            self.assertEqual(log.company_id, self.company)

    def test_consent_log_company_filled_in_sql_on_install(self):
        self.ours._sms_consent_set("opted_in", "staff", "Signed form", NUMBER)
        self.shared._sms_consent_set("opted_in", "staff", "Signed form", NUMBER)
        self.receive_on(self.other_gateway, "STOP", sender="+393339990000")
        Log = self.env["sms.consent.log"]
        self.env.flush_all()
        expected = dict(self.env.execute_query(SQL("SELECT id, company_id FROM sms_consent_log")))
        with self.env.cr.savepoint(flush=False):
            self.env.cr.execute("ALTER TABLE sms_consent_log DROP COLUMN company_id")
            self.assertTrue(add_filled_column(Log, "company_id", "int4", FILL_COMPANY))
            filled = dict(self.env.execute_query(SQL("SELECT id, company_id FROM sms_consent_log")))
            self.assertFalse(add_filled_column(Log, "company_id", "int4", FILL_COMPANY))
        self.env.invalidate_all()
        self.assertEqual(filled, expected)
        self.assertIn(self.other.company.id, filled.values())

    # contests -----------------------------------------------------------------------

    def test_contest_sends_with_its_company(self):
        now = fields.Datetime.now()
        contest = self.env["sms.contest"].create(
            {
                "name": "Summer",
                "keyword": "SUMMER",
                "company_id": self.company.id,
                "date_start": now - timedelta(days=2),
                "date_end": now - timedelta(days=1),
            }
        )
        contest.action_open()
        self.env["sms.contest.entry"].create(
            {"contest_id": contest.id, "number": NUMBER, "partner_id": self.ours.id}
        )
        # a manager of both companies, working in the other one, draws
        contest.with_user(self.both_companies_manager()).action_draw()
        sent = self.outbox(number=NUMBER)
        self.assertTrue(sent)
        self.assertEqual(sent.gateway_id, self.gateway)

    def test_survey_question_sends_with_its_company(self):
        self.ours._sms_consent_set("opted_in", "staff", "Signed form", NUMBER)
        question = self.env["sms.survey.question"].create(
            {"name": "NPS", "body": "Grade us 1-5", "company_id": self.company.id}
        )
        question.with_user(self.both_companies_manager())._send_to(self.ours)
        sent = self.outbox(number=NUMBER)
        self.assertTrue(sent)
        self.assertEqual(sent.gateway_id, self.gateway)

    def test_shared_question_is_asked_and_answered_in_a_company(self):
        (self.ours | self.theirs).write({"active": False})
        self.shared._sms_consent_set("opted_in", "staff", "Signed form", NUMBER)
        question = self.env["sms.survey.question"].create(
            {"name": "Shared NPS", "body": "Grade us 1-5", "company_id": False}
        )
        requests = question._send_to(self.shared)
        self.assertEqual(requests.company_id, self.company)
        # a reply to the other company's number answers none of this company's requests
        self.receive_on(self.other_gateway, "5")
        requests.invalidate_recordset()
        self.assertEqual(requests.state, "open")
        self.receive_on(self.gateway, "5")
        requests.invalidate_recordset()
        self.assertEqual(requests.state, "answered")
        self.assertEqual(requests.answer_id.company_id, self.company)

    def both_companies_manager(self):
        """An SMS manager of both companies, working in the other one."""
        return new_test_user(
            self.env,
            login="both_companies_manager",
            groups="sms_journey.group_sms_journey_manager",
            company_id=self.other.company.id,
            company_ids=[(6, 0, (self.company | self.other.company).ids)],
        )

    def test_contest_links_stay_in_its_company(self):
        contest = self.env["sms.contest"].create(
            {
                "name": "Winter",
                "keyword": "WINTER",
                "company_id": self.other.company.id,
                "date_end": fields.Datetime.now() + timedelta(days=1),
            }
        )
        rule = self.env["sms.keyword.rule"].create(
            {"name": "Ours", "keywords": "OURS", "company_id": self.company.id}
        )
        with self.assertRaises(UserError):
            self.env["sms.keyword.rule.action"].create(
                {"rule_id": rule.id, "type": "contest_enter", "contest_id": contest.id}
            )
        with self.assertRaises(UserError):
            self.env["sms.contest.entry"].create(
                {"contest_id": contest.id, "number": NUMBER, "partner_id": self.ours.id}
            )

    # digests --------------------------------------------------------------------------

    def test_digest_follows_a_journey_of_its_company_only(self):
        journey = self.env["sms.journey"].create({"name": "Ours", "company_id": self.company.id})
        with self.assertRaises(UserError):
            self.env["sms.interaction.digest"].create(
                {
                    "journey_id": journey.id,
                    "email_to": "spy@example.com",
                    "company_id": self.other.company.id,
                }
            )
        # and as the other company's SMS user, it is not even readable
        Digest = self.env["sms.interaction.digest"].with_user(self.other.sms_user)
        with self.assertRaises(UserError):
            Digest.create({"journey_id": journey.id, "email_to": "spy@example.com"})

    def test_digest_reports_replies_of_its_company(self):
        journey = self.env["sms.journey"].create({"name": "Ours", "company_id": self.company.id})
        now = fields.Datetime.now()
        digest = self.env["sms.interaction.digest"].create(
            {
                "journey_id": journey.id,
                "email_to": "boss@example.com",
                "date_start": now - timedelta(days=1),
            }
        )
        Interaction = self.env["sms.interaction"]
        for gateway, body in ((self.gateway, "Our reply"), (self.other_gateway, "Their reply")):
            Interaction.create(
                {
                    "number": NUMBER,
                    "body": body,
                    "gateway_id": gateway.id,
                    "sms_journey_id": journey.id,
                    "received_at": now - timedelta(hours=1),
                }
            )
        mail = digest._send(now)
        self.assertIn("1 new SMS replies", mail.subject)
        self.assertIn("Our reply", mail.body_html)
        self.assertNotIn("Their reply", mail.body_html)

    # steps -------------------------------------------------------------------------------

    def test_journey_step_links_stay_in_its_company(self):
        journey = self.env["sms.journey"].create({"name": "Ours", "company_id": self.company.id})
        question = self.env["sms.survey.question"].create(
            {"name": "Theirs", "body": "1-5?", "company_id": self.other.company.id}
        )
        with self.assertRaises(UserError):
            self.env["sms.journey.step"].create(
                {"journey_id": journey.id, "action": "survey", "survey_question_id": question.id}
            )
        step = self.env["sms.journey.step"].create({"journey_id": journey.id, "action": "sms"})
        self.assertEqual(step.company_id, self.company)

    # rows written in SQL carry their company too ------------------------------------

    def test_journey_traces_carry_the_journey_company(self):
        template = new_partner_template(self.env, "Hi", "Hi")
        journey = self.env["sms.journey"].create(
            {
                "name": "Welcome",
                "trigger": "segment",
                "sms_kind": "transactional",
                "company_id": self.company.id,
                "audience_domain": repr([("id", "=", self.ours.id)]),
                "step_ids": [(0, 0, {"action": "sms", "template_id": template.id})],
            }
        )
        journey.action_start()
        self.env["sms.journey"]._cron_enrol()
        self.env["sms.journey.participant"]._cron_execute_due()
        traces = self.env["sms.journey.trace"].search([("journey_id", "=", journey.id)])
        self.assertTrue(traces)
        self.assertEqual(traces.company_id, self.company)
        self.assertEqual(journey.participant_ids.company_id, self.company)
        Trace = self.env["sms.journey.trace"].with_user(self.other.sms_manager)
        self.assertFalse(Trace.search([("id", "in", traces.ids)]))

    def test_parts_of_a_long_sms_carry_the_gateway_company(self):
        inbound = InboundSms(
            "SMpart1",
            NUMBER,
            self.other_gateway.sender,
            "Half of it",
            part=InboundPart(reference="ref1", number=1, total=2),
        )
        self.assertIsNone(self.env["sms.inbound.part"].sudo()._collect(self.other_gateway, inbound))
        part = self.env["sms.inbound.part"].sudo().search([("reference", "=", "ref1")])
        self.assertEqual(part.company_id, self.other.company)

    # links to contacts ------------------------------------------------------------------

    def test_replies_link_only_to_their_company_contacts(self):
        reply = self.receive_on(self.gateway, "Hi", sender="+393330000001")
        with self.assertRaises(UserError):
            reply.link_partner(self.theirs)
        with self.assertRaises(UserError):
            self.env["sms.conversation.link"].create(
                {
                    "number": reply.number,
                    "company_id": self.company.id,
                    "partner_id": self.theirs.id,
                }
            )
        reply.link_partner(self.shared)
        self.assertEqual(reply.partner_id, self.shared)
