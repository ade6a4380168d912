"""Marketing SMS reach only contacts who consented, through every entry point a user
has, with a gateway and on Odoo's IAP path; transactional SMS still reach a contact who
only turned marketing down."""

from datetime import datetime

from odoo.tests import tagged

from odoo.addons.sms.tests.common import MockSMS

from .common import SmsJourneyMixin, new_partner_template, new_sms_mailing

NOW = datetime(2026, 3, 10, 10, 0)  # 11:00 in Rome: inside the sending window


class EntryPointsMixin(SmsJourneyMixin):
    """The same scenarios on both transports; ``deliveries`` records what left Odoo."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        it = cls.env.ref("base.it").id
        Partner = cls.env["res.partner"]

        def contact(name, mobile):
            return Partner.create(
                {"name": name, "mobile": mobile, "country_id": it, "tz": "Europe/Rome"}
            )

        cls.unknown = contact("Unknown consent", "+39 333 000 0001")
        cls.stopped = contact("Sent STOP", "+39 333 000 0002")
        cls.opted_in = contact("Opted in", "+39 333 000 0003")
        cls.no_marketing = contact("No marketing", "+39 333 000 0004")
        cls.stopped._sms_consent_opt_out_number(cls.stopped.mobile, "keyword", "STOP")
        cls.opted_in._sms_consent_set("opted_in", "web_form", "form")
        cls.no_marketing._sms_consent_set("opted_in", "web_form", "form")
        cls.no_marketing._sms_marketing_opt_out("api", "journey: no reaction")
        cls.contacts = cls.unknown | cls.stopped | cls.opted_in | cls.no_marketing
        cls.tpl = new_partner_template(cls.env, "Promo", "Promo for {{ object.name }}")

    def setUp(self):
        super().setUp()
        frozen = self.frozen_now(NOW)
        frozen.__enter__()
        self.addCleanup(frozen.__exit__, None, None, None)

    def assertOnlyOptedIn(self, deliveries):
        self.assertEqual(sorted(deliveries), [self.opted_in.phone_sanitized])

    # entry points ----------------------------------------------------------

    def composer(self, records, **values):
        ctx = {"active_model": "res.partner", "active_ids": records.ids}
        if len(records) == 1:
            ctx["active_id"] = records.id
        return self.env["sms.composer"].with_context(**ctx).create(values)

    def test_chatter_sms(self):
        for partner in self.contacts:
            self.composer(
                partner, body="Promo", composition_mode="comment", sms_kind="marketing"
            ).action_send_sms()
        self.assertOnlyOptedIn(self.deliveries())

    def test_mass_composer_is_marketing_by_default(self):
        composer = (
            self.env["sms.composer"]
            .with_context(
                default_composition_mode="mass",
                default_res_model="res.partner",
                default_res_ids=self.contacts.ids,
            )
            .create({"body": "Promo", "mass_force_send": True})
        )
        self.assertEqual(composer.sms_kind, "marketing")
        composer.action_send_sms()
        self.assertOnlyOptedIn(self.deliveries())

    def test_transactional_reaches_the_marketing_opt_out(self):
        for partner in self.contacts:
            self.composer(
                partner, body="Your order shipped", composition_mode="comment"
            ).action_send_sms()
        self.assertEqual(
            sorted(self.deliveries()),
            sorted((self.unknown | self.opted_in | self.no_marketing).mapped("phone_sanitized")),
        )

    def test_sms_mailing_on_contacts(self):
        mailing = new_sms_mailing(self.env, "Summer sale", self.contacts)
        mailing.action_send_sms()
        self.assertOnlyOptedIn(self.deliveries())

    def test_sms_mailing_on_a_mailing_list(self):
        mailing_list = self.env["mailing.list"].create(
            {
                "name": "Newsletter",
                "contact_ids": [
                    (0, 0, {"name": partner.name, "mobile": partner.mobile})
                    for partner in self.contacts
                ],
            }
        )
        mailing = new_sms_mailing(
            self.env,
            "Summer sale",
            model="mailing.list",
            contact_list_ids=[(6, 0, mailing_list.ids)],
        )
        mailing.action_send_sms()
        self.assertOnlyOptedIn(self.deliveries())

    def test_retarget_from_interactions(self):
        interactions = self.env["sms.interaction"].create(
            [
                {
                    "partner_id": partner.id,
                    "number": partner.phone_sanitized,
                    "body": "hi",
                    "gateway_id": self.gateway.id,
                }
                for partner in self.contacts
            ]
        )
        action = interactions.action_send_sms_to_contacts()
        composer = (
            self.env["sms.composer"]
            .with_context(**action["context"])
            .create({"body": "Back in stock", "mass_force_send": True})
        )
        self.assertEqual(composer.sms_kind, "marketing")
        composer.action_send_sms()
        self.assertOnlyOptedIn(self.deliveries())

    def test_survey_send(self):
        question = self.env["sms.survey.question"].create(
            {"name": "NPS", "body": "How likely are you to recommend us? 0-10"}
        )
        self.env["sms.survey.send"].create(
            {"question_id": question.id, "partner_ids": [(6, 0, self.contacts.ids)]}
        ).action_send()
        self.assertOnlyOptedIn(self.deliveries())

    def test_journey_sms_step(self):
        journey = self.env["sms.journey"].create(
            {
                "name": "Promo journey",
                "trigger": "segment",
                "sms_kind": "marketing",
                "audience_domain": repr([("id", "in", self.contacts.ids)]),
                "step_ids": [(0, 0, {"action": "sms", "template_id": self.tpl.id})],
            }
        )
        journey.action_start()
        self.env["sms.journey"]._cron_enrol()
        self.env["sms.journey.participant"]._cron_execute_due()
        self.assertEqual(len(journey.participant_ids), 4)
        self.assertOnlyOptedIn(self.deliveries())


@tagged("post_install", "-at_install")
class TestEntryPointsGateway(EntryPointsMixin, MockSMS):
    """With a gateway: the outbox applies the policy, the provider gets the rest."""

    allow_inherited_tests_method = True

    def deliveries(self):
        self.env["sms.sms"].sudo()._process_queue()  # mailings queue their SMS
        self.dispatch()
        return [message["to"] for message in self.received()]

    def test_keyword_rule_reply(self):
        self.env["sms.keyword.rule"].create(
            {
                "name": "Promo",
                "keywords": "PROMO",
                "action_ids": [
                    (0, 0, {"type": "reply", "template_id": self.tpl.id, "sms_kind": "marketing"})
                ],
            }
        )
        for partner in self.contacts:
            self.receive("PROMO", sender=partner.phone_sanitized)
        self.assertOnlyOptedIn(self.deliveries())

    def test_canceled_sms_say_why(self):
        self.test_chatter_sms()
        self.assertSmsCanceled(self.unknown, reason="no_consent")
        self.assertSmsCanceled(self.stopped, reason="opted_out")
        self.assertSmsCanceled(self.no_marketing, reason="marketing_opt_out")
        self.assertSmsSent(self.opted_in.phone_sanitized, "Promo", count=1)


@tagged("post_install", "-at_install")
class TestEntryPointsIap(EntryPointsMixin, MockSMS):
    """Without a gateway (Odoo's IAP service): the same policy, nothing canceled
    reaches IAP."""

    allow_inherited_tests_method = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_gateway_id = False

    def setUp(self):
        super().setUp()
        patcher = self.mockSMSGateway()
        patcher.__enter__()
        self.addCleanup(patcher.__exit__, None, None, None)

    def deliveries(self):
        self.env["sms.sms"].sudo()._process_queue()  # mailings queue their SMS
        return [sms["number"] for sms in self._sms]

    def test_canceled_sms_say_why(self):
        self.test_chatter_sms()
        canceled = self.env["sms.sms"].search(
            [("partner_id", "in", self.contacts.ids), ("state", "=", "canceled")]
        )
        self.assertEqual(
            {sms.partner_id: sms.failure_type for sms in canceled},
            {
                self.unknown: "sms_optout",
                self.stopped: "sms_blacklist",
                self.no_marketing: "sms_optout",
            },
        )
