"""Another company's SMS staff find nothing of this company, in any model of ours.

The models are not listed here: they are read from the registry (``ir.model`` and
``ir.model.access`` rows of sms_journey), so a new model is walked without a new test.
For each, the records "of company 1" are found generically: its ``company_id``, else the
company of the first required link that has one, else (a wizard) the rows this company's
administrator made. A model that is none of these must be listed in ``SHARED_MODELS``
with the reason it holds no company data, or the walk fails.
"""

import logging
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SmsJourneyCase, new_company_actors, new_partner_template

_logger = logging.getLogger(__name__)

# models of ours whose rows belong to no company, and why
SHARED_MODELS = {
    "sms.consent.keyword": "the STOP/START/HELP words, the same for every company",
    "sms.send.rule": "the law of a destination, the same for every company that texts it",
}


@tagged("post_install", "-at_install", "sms_journey_security")
class TestCompanyWalk(SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_company_actors(cls.env, "walk")
        cls._company_one_data()

    @classmethod
    def _company_one_data(cls):
        """At least one record of company 1 in each model of ours, made as its admin
        would (the main company, the superuser's environment)."""
        env = cls.env
        company = cls.company
        cls.local_partner = env["res.partner"].create(
            {"name": "Company one contact", "mobile": "+39 333 765 4321", "company_id": company.id}
        )
        template = new_partner_template(env, "Walk template", "Hello")
        question = env["sms.survey.question"].create(
            {"name": "Walk NPS", "body": "Grade us 1-5", "company_id": company.id}
        )
        journey = env["sms.journey"].create(
            {
                "name": "Walk journey",
                "company_id": company.id,
                "step_ids": [(0, 0, {"action": "sms", "template_id": template.id})],
            }
        )
        step = journey.step_ids
        env["sms.journey.step.variant"].create(
            [
                {"step_id": step.id, "name": "A", "template_id": template.id},
                {"step_id": step.id, "name": "B", "template_id": template.id},
            ]
        )
        participant = env["sms.journey.participant"].create(
            {"journey_id": journey.id, "partner_id": cls.local_partner.id, "key": "walk"}
        )
        env["sms.journey.trace"].create(
            {"participant_id": participant.id, "step_id": step.id, "action": "sms", "state": "sent"}
        )
        env["sms.keyword.rule"].create(
            {
                "name": "Walk rule",
                "keywords": "WALK",
                "company_id": company.id,
                "action_ids": [(0, 0, {"type": "mark_handled"})],
            }
        )
        now = fields.Datetime.now()
        contest = env["sms.contest"].create(
            {
                "name": "Walk contest",
                "keyword": "WIN",
                "company_id": company.id,
                "date_start": now - timedelta(days=1),
                "date_end": now + timedelta(days=1),
            }
        )
        contest.action_open()
        cls._receive_as_company_one("WIN")  # enters the contest
        assert contest.entry_ids, "the reply entered the contest"
        request = env["sms.survey.request"].create(
            {"question_id": question.id, "partner_id": cls.local_partner.id}
        )
        env["sms.survey.answer"].create(
            {"question_id": question.id, "partner_id": cls.local_partner.id, "value": "5"}
        )
        request.invalidate_recordset()
        env["sms.interaction.digest"].create(
            {"journey_id": journey.id, "email_to": "boss@example.com", "company_id": company.id}
        )
        env["sms.consent.log"].create(
            {
                "partner_id": cls.local_partner.id,
                "number": cls.local_partner.phone_sanitized,
                "action": "opted_in",
                "source": "staff",
            }
        )
        env["sms.inbound.part"].create(
            {
                "gateway_id": cls.gateway.id,
                "sender": "+393331234567",
                "reference": "walk",
                "part_number": 1,
                "part_total": 2,
                "body": "Half of it",
                "received_at": now,
            }
        )
        # an SMS sent (outbox, chatter, conversation, results)
        cls.local_partner._message_sms("Your order shipped", partner_ids=cls.local_partner.ids)
        env["sms.gateway.message"]._cron_dispatch()
        env["sms.result.snapshot"]._refresh()
        # wizards, opened by this company's admin
        env["sms.gateway.test"].create({"gateway_id": cls.gateway.id, "number": "+393331234567"})
        # the Sandbox phone answers only from numbers its sandbox gateway texted
        cls.sandbox = env["sms.gateway"].create(
            {"name": "Walk sandbox", "code": "sandbox", "company_id": company.id}
        )
        env["sms.gateway.message"].create(
            {"sms_uuid": "a" * 32, "gateway_id": cls.sandbox.id, "number": "+393337654321",
             "state": "sent"}
        )  # fmt: skip
        env["sms.sandbox.reply"].create(
            {"gateway_id": cls.sandbox.id, "number": "+393337654321", "body": "Hi"}
        )
        env["sms.interaction.export"].create({"mode": "all"})
        env["sms.survey.send"].create(
            {"question_id": question.id, "partner_ids": [(6, 0, cls.local_partner.ids)]}
        )
        env["sms.conversation.link"].create(
            {"company_id": company.id, "partner_id": cls.local_partner.id, "number": "+39021"}
        )
        preview = env["sms.journey.preview"].create({"journey_id": journey.id, "days": 2})
        env["sms.journey.preview.line"].create(
            {"preview_id": preview.id, "partner_id": cls.local_partner.id, "step_id": step.id}
        )
        env.flush_all()

    @classmethod
    def _receive_as_company_one(cls, body):
        from ..tools.gateways.base import InboundSms

        interaction = cls.env["sms.interaction"]._receive(
            cls.gateway,
            InboundSms(
                provider_message_id="SMwalk",
                sender="+393337654321",
                recipient=cls.gateway.sender,
                body=body,
            ),
        )
        cls.env["sms.interaction"].sudo()._cron_process_received()
        return interaction

    # the walk ------------------------------------------------------------------

    def _our_models(self):
        """Every model of sms_journey with a table or a view: those it defines (its
        ``ir.model`` rows) and those its access rights are about (``ir.model.access``)."""
        data = self.env["ir.model.data"].search(
            [("module", "=", "sms_journey"), ("model", "in", ["ir.model", "ir.model.access"])]
        )
        defined = self.env["ir.model"].browse(
            data.filtered(lambda d: d.model == "ir.model").mapped("res_id")
        )
        names = {
            name
            for name in defined.mapped("model")
            if self.env[name]._original_module == "sms_journey"
        }
        acls = self.env["ir.model.access"].browse(
            data.filtered(lambda d: d.model == "ir.model.access").mapped("res_id")
        )
        names |= set(acls.model_id.mapped("model"))
        return sorted(name for name in names if not self.env[name]._abstract)

    def _company_one_domain(self, model):
        """How the rows of company 1 are found in ``model``; None when it holds none."""
        company = self.company.id
        if "company_id" in model._fields:
            return [("company_id", "=", company)]
        for name, field in model._fields.items():
            if (
                field.type == "many2one"
                and field.store
                and field.required
                and "company_id" in self.env[field.comodel_name]._fields
            ):
                return [(f"{name}.company_id", "=", company)]
        if model._transient:
            return [("create_uid", "=", self.env.uid)]
        return None

    def test_other_company_finds_nothing(self):
        walked = []
        for name in self._our_models():
            model = self.env[name].sudo()
            domain = self._company_one_domain(model)
            if domain is None:
                self.assertIn(
                    name,
                    SHARED_MODELS,
                    f"{name} has no company_id and no required link to a company's record: "
                    "give it a company (and its rule) or list it in SHARED_MODELS",
                )
                continue
            records = model.search(domain)
            if not records:
                _logger.info("company walk: no record of company 1 in %s, skipped", name)
                continue
            walked.append(name)
            for label, user in self.other.users():
                with self.subTest(model=name, actor=label):
                    self._assert_nothing_of_company_one(records, user)
        _logger.info("company walk: %s models walked: %s", len(walked), ", ".join(walked))
        # the gaps issue 20 found are all walked (they have data here)
        for name in (
            "sms.consent.log",
            "sms.contest",
            "sms.contest.entry",
            "sms.journey.step",
            "sms.journey.step.variant",
            "sms.keyword.rule.action",
            "sms.survey.request",
            "sms.survey.answer",
            "sms.interaction.digest",
        ):
            self.assertIn(name, walked)

    def _assert_nothing_of_company_one(self, records, user):
        name = records._name
        Access = self.env["ir.model.access"].with_user(user)
        mine = records.with_user(user)
        Model = self.env[name].with_user(user)
        if Access.check(name, "read", raise_exception=False):
            self.assertFalse(Model.search([("id", "in", records.ids)]), "search finds them")
            self.assertFalse(
                Model.search_count([("id", "in", records.ids)]), "search_count counts them"
            )
        else:
            with self.assertRaises(AccessError):
                Model.search([("id", "in", records.ids)])
        with self.assertRaises(AccessError, msg="read"):
            mine.read([self._plain_field(records)])
        self.assertFalse(mine.has_access("write"))
        self.assertFalse(mine.has_access("unlink"))
        with self.assertRaises(UserError, msg="write"), mute_logger("odoo.models"):
            field = self._plain_field(records)
            mine[:1].write({field: records[:1][field]})
        with self.assertRaises(UserError, msg="unlink"), mute_logger("odoo.models"):
            mine[:1].unlink()
        # a wizard's new row is its user's own (the rule above); what it is opened on is
        # read as that user when it runs
        if records._transient or not Access.check(name, "create", raise_exception=False):
            return
        # a copy of a record of company 1 (its company and links) is refused; its texts
        # changed so that no unique key refuses it first
        values = {
            key: f"{value}-walk" if records._fields[key].type == "char" and value else value
            for key, value in records[:1].copy_data()[0].items()
        }
        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db", "odoo.models"):
                with self.assertRaises(UserError, msg="create"):
                    Model.create(values)
        except IntegrityError:
            _logger.info("company walk: %s copy clashes with a unique key, create skipped", name)

    def test_other_company_wizards_refuse_company_one_records(self):
        """A wizard opened by hand (over RPC) on company 1's records does nothing."""
        manager = self.other.sms_manager
        gateway = self.gateway
        journey = self.env["sms.journey"].search([("name", "=", "Walk journey")])
        question = self.env["sms.survey.question"].search([("name", "=", "Walk NPS")])
        before = self.env["sms.gateway.message"].search_count([])
        runs = [
            (
                "sms.gateway.test",
                {"gateway_id": gateway.id, "number": "+393331234567"},
                "action_send",
            ),
            (
                "sms.survey.send",
                # a contact shared by all companies: the question is what is refused
                {"question_id": question.id, "partner_ids": [(6, 0, self.partner.ids)]},
                "action_send",
            ),
            ("sms.journey.preview", {"journey_id": journey.id, "days": 2}, "action_compute"),
            (
                "sms.sandbox.reply",
                {"gateway_id": self.sandbox.id, "number": "+393337654321", "body": "STOP"},
                "action_send",
            ),
        ]
        for model, values, method in runs:
            self.env.invalidate_all()  # as in a request: nothing read before, as admin
            with self.subTest(wizard=model), mute_logger("odoo.models"):
                with self.assertRaises(AccessError) as refused:
                    getattr(self.env[model].with_user(manager).create(values), method)()
                _logger.info("company walk: %s refused: %r", model, refused.exception)
        self.assertEqual(self.env["sms.gateway.message"].search_count([]), before)

    @staticmethod
    def _plain_field(records):
        """A stored, non-relational field of ``records`` that is written as is."""
        for name, field in records._fields.items():
            if (
                field.store
                and not field.compute
                and not field.related
                and field.type in ("char", "text", "integer", "float", "boolean", "datetime")
                and name not in ("create_date", "write_date")
            ):
                return name
        return "id"
