from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import tagged

from ..controllers.reply_links import LIMITER
from ..models.sms_sender import SmsRequest
from ..tools import reply_links
from .common import (
    NUMBER,
    AppointmentMixin,
    JourneyCaseMixin,
    ReplyLinkMixin,
    TwoWayCommon,
    new_sms_mailing,
)

T0 = datetime(2026, 3, 2, 10, 0)  # a Monday, 11:00 in Rome
FRENCH = "+33612345678"


@tagged("post_install", "-at_install")
class TestReplyLinkAppointments(AppointmentMixin, ReplyLinkMixin, TwoWayCommon):
    """An appointment reminder from an alphanumeric sender is answered on its link's
    page, by a visitor without login, as a C / A / R reply would."""

    def remind(self):
        event, reminder = self.send_reminder("Dentist", T0 + timedelta(days=1))
        self.assertEqual(reminder.sender_id, self.alpha)
        return event, reminder

    def test_reminder_confirms_by_link(self):
        with self.frozen_now(T0):
            event, reminder = self.remind()
            [path] = self.reply_links(reminder)  # transactional: no opt-out link
            self.assertIn("Confirm or cancel: http", reminder.body)
            # the link stands for the reply instruction, which a one-way sender can't take
            self.assertIn("Reminder: Dentist", reminder.body)
            self.assertNotIn("Reply C", reminder.body)
            status, page = self.open_link(path)
            self.assertEqual(status, 200)
            self.assertIn("Dentist", page)
            # opening the page (a link preview, a scanner) changes nothing
            self.assertEqual(self.attendee(event).state, "needsAction")
            status, page = self.answer_link(path, "confirm")
        self.assertEqual(status, 200)
        self.assertIn("is confirmed", page)
        self.assertEqual(self.attendee(event).state, "accepted")
        reply = self.env["sms.interaction"].search([("outbox_message_id", "=", reminder.id)])
        self.assertEqual((reply.partner_id, reply.number), (self.partner, NUMBER))
        self.assertIn("IP: 127.0.0.1", reply.web_proof)
        self.assertIn("Page: http", reply.web_proof)
        # the same answer by SMS as to a C reply
        self.assertIn("is confirmed", self.answers()[-1])

    def test_reschedule_by_link_asks_the_organizer(self):
        with self.frozen_now(T0):
            event, reminder = self.remind()
            status, _page = self.answer_link(self.reply_links(reminder)[0], "reschedule")
        self.assertEqual(status, 200)
        self.assertEqual(self.partner.activity_ids.user_id, self.salesman)
        self.assertIn("asked by SMS to reschedule", " ".join(event.message_ids.mapped("body")))

    def test_forged_expired_and_hostile_links_change_nothing(self):
        with self.frozen_now(T0):
            event, reminder = self.remind()
            [path] = self.reply_links(reminder)
            head, day, signature = path.split(".")
            forged = f"{head}.{day}.{'a' if signature[0] != 'a' else 'b'}{signature[1:]}"
            other_row = f"{head[:4]}{reply_links._b36(int(head[4:], 36) + 1)}.{day}.{signature}"
            key = self.env["sms.gateway.message"]._reply_key()
            expired = "/o/" + reply_links.make_token(
                key, "appointment", reminder.id, (T0 - timedelta(days=1)).date(), reminder.number
            )
            for bad, expected in (
                (forged, 404),
                (other_row, 404),
                (expired, 410),
                ("/o/" + "z" * 300, 404),
                (f"/o/azzzzzzzzzzzzz.{day}.{signature}", 404),  # beyond an integer id
                ("/o/a1.%00.x", 404),
            ):
                self.assertEqual(self.open_link(bad)[0], expected, bad)
                status = self.answer_link(bad, "confirm", csrf_from=path)[0]
                self.assertEqual(status, expected, bad)
        self.assertEqual(self.attendee(event).state, "needsAction")
        self.assertFalse(self.env["sms.interaction"].search([("web_proof", "!=", False)]))

    def test_post_without_csrf_is_refused(self):
        with self.frozen_now(T0):
            event, reminder = self.remind()
            self.env.flush_all()
            response = self.url_open(self.reply_links(reminder)[0], data={"answer": "confirm"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.attendee(event).state, "needsAction")

    def test_rate_limited(self):
        with self.frozen_now(T0):
            event, reminder = self.remind()
            [path] = self.reply_links(reminder)
            with patch.object(LIMITER, "limit", 2):
                self.assertEqual(self.open_link(path)[0], 200)
                status, page = self.answer_link(path, "confirm")  # its GET is the 2nd
        self.assertEqual(status, 429)
        self.assertIn("Too many requests", page)
        self.assertEqual(self.attendee(event).state, "needsAction")


@tagged("post_install", "-at_install")
class TestReplyLinkConsent(ReplyLinkMixin, TwoWayCommon):
    """A marketing SMS from a one-way sender always carries the opt-out page, which
    opts out with the STOP reply's code and logs the page as its proof."""

    def send_marketing(self, partner=None):
        partner = partner or self.partner
        with self.frozen_now(T0):
            self.env["sms.sender"]._send(
                [SmsRequest(body="Spring sale: 20% off", partner=partner, kind="marketing")]
            )
        return self.outbox(partner_id=partner.id)[-1:]

    def test_marketing_sms_carries_the_stop_page(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        row = self.send_marketing()
        self.assertEqual(row.sender_id, self.alpha)
        self.assertIn("Opt out: http", row.body)
        [path] = self.reply_links(row)
        with self.frozen_now(T0 + timedelta(hours=1)):
            status, page = self.open_link(path)
            self.assertEqual(status, 200)
            self.assertIn("Unsubscribe", page)
            self.assertEqual(self.partner.sms_consent_state, "opted_in")
            status, page = self.answer_link(path, "stop")
        self.assertEqual(status, 200)
        self.assertIn("unsubscribed", page)
        self.assertEqual(self.partner.sms_consent_state, "opted_out")
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", NUMBER)]))
        log = self.env["sms.consent.log"].search(
            [("partner_id", "=", self.partner.id), ("action", "=", "opted_out")]
        )
        self.assertEqual(log.source, "keyword")  # the STOP reply's own code
        self.assertIn("IP: 127.0.0.1", log.proof)
        self.assertIn(f"Page: {self.base_url()}{path}", log.proof)
        self.assertIn("User agent:", log.proof)
        self.assertEqual(log.interaction_id.consent_action, "opt_out")

    def test_double_opt_in_confirmed_by_link(self):
        with self.frozen_now(T0):
            self.partner._sms_consent_request("staff", "Asked at the counter")
        self.assertEqual(self.partner.sms_consent_state, "pending")
        row = self.outbox(partner_id=self.partner.id)[-1:]
        [path] = self.reply_links(row)  # transactional: no opt-out link
        self.assertIn("Confirm: http", row.body)
        with self.frozen_now(T0 + timedelta(minutes=5)):
            status, page = self.answer_link(path, "yes")
        self.assertEqual(status, 200)
        self.assertIn("is confirmed", page)
        self.assertEqual(self.partner.sms_consent_state, "opted_in")
        log = self.env["sms.consent.log"].search(
            [("partner_id", "=", self.partner.id), ("action", "=", "opted_in")]
        )
        self.assertIn("IP: 127.0.0.1", log.proof)
        self.assertIn("TestPhone", log.proof)

    def test_sender_form_says_which_features_use_links(self):
        arch = self.env["sms.gateway.sender"].get_views([(False, "form")])["views"]["form"]["arch"]
        for feature in ("opt-out page", "appointment", "survey", "double opt-in"):
            self.assertIn(feature, arch)

    def test_sms_mailing_carries_the_stop_page(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        mailing = new_sms_mailing(
            self.env,
            "Spring sale: -20% until Sunday!",
            self.partner,
            sms_force_send=True,
            sms_allow_unsubscribe=False,
        )
        with self.frozen_now(T0):
            mailing.action_send_sms()
        row = self.outbox(partner_id=self.partner.id)[-1:]
        self.assertEqual(row.sms_kind, "marketing")
        self.assertEqual(row.sender_id, self.alpha)
        self.assertEqual(len(self.reply_links(row)), 1)
        self.assertIn("Opt out: http", row.body)

    def test_two_way_sender_gets_no_link(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        french = self.env["res.partner"].create({"name": "Jean", "mobile": FRENCH})
        french._sms_consent_set("opted_in", "staff", "test")
        row = self.send_marketing(french)
        self.assertFalse(row.sender_id)
        self.assertNotIn("/o/", row.body)


@tagged("post_install", "-at_install")
class TestReplyLinkSurvey(ReplyLinkMixin, JourneyCaseMixin, TwoWayCommon):
    """Journeys from a one-way sender: a survey question answered on its page moves the
    participant down the branch a reply would; the opt-out page leaves the journey as a
    STOP reply does."""

    def test_survey_answered_by_link_splits_like_a_reply(self):
        question = self.env["sms.survey.question"].create(
            {"name": "Visit", "body": "Rate us 1 to 10", "answer_type": "scale", "scale_max": 10}
        )
        french = self.make_partner("Jean Dupont", FRENCH, tz="Europe/Paris")
        french.country_id = self.env.ref("base.fr")
        journey = self.make_journey(
            [
                {"action": "survey", "survey_question_id": question.id, "wait_amount": 0},
                {
                    "action": "branch",
                    "condition": "survey",
                    "condition_question_id": question.id,
                    "condition_operator": ">=",
                    "condition_value": "8",
                    "wait_amount": 1,
                },
            ],
            audience_domain=f"[('id', 'in', {(self.partner | french).ids})]",
        )
        branch = journey.step_ids.filtered(lambda s: s.action == "branch")
        self.add_path(branch, "yes", [self.sms_step()])
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        row = self.outbox(partner_id=self.partner.id)[-1:]
        self.assertEqual(row.sender_id, self.alpha)
        survey_path, stop_path = self.reply_links(row)
        self.assertIn("Answer: http", row.body)
        with self.frozen_now(T0 + timedelta(hours=1)):
            status, page = self.open_link(survey_path)
            self.assertIn("Rate us 1 to 10", page)
            self.assertEqual(self.answer_link(survey_path, "11")[0], 400)  # not an answer
            status, page = self.answer_link(survey_path, "9")
            self.assertEqual(status, 200)
            self.reply("3", sender=FRENCH)  # the French contact answers by SMS
        self.run_crons(T0 + timedelta(days=1, hours=1))
        branches = {
            trace.partner_id: trace.branch for trace in self.traces(journey, action="branch")
        }
        self.assertEqual(branches, {self.partner: "yes", french: "no"})
        answer = question.answer_ids.filtered(lambda a: a.partner_id == self.partner)
        self.assertEqual((answer.value, answer.journey_id), ("9", journey))
        survey_trace = self.traces(journey, partner_id=self.partner.id, action="survey")
        self.assertTrue(survey_trace.replied_at)
        # answered: the page is closed
        self.assertEqual(self.open_link(survey_path)[0], 410)

    def test_stop_by_link_leaves_the_journey_as_a_stop_reply(self):
        journey = self.make_journey([self.sms_step(), self.sms_step(wait=2)], exit_on_stop=True)
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        row = self.outbox(partner_id=self.partner.id)[-1:]
        [stop_path] = self.reply_links(row)
        with self.frozen_now(T0 + timedelta(hours=1)):
            status, _page = self.answer_link(stop_path, "stop")
        self.assertEqual(status, 200)
        self.assertEqual(journey.participant_ids.state, "opted_out")
        self.assertEqual(self.partner.sms_consent_state, "opted_out")


class TestReplyLinkContest(ReplyLinkMixin, TwoWayCommon):
    """An SMS from a one-way sender that names an open contest's keyword carries its
    entry page, which enters the contest as texting the keyword would."""

    def test_contest_entered_by_link(self):
        contest = self.env["sms.contest"].create(
            {
                "name": "Spring draw",
                "keyword": "WIN",
                "date_start": T0 - timedelta(days=1),
                "date_end": T0 + timedelta(days=7),
            }
        )
        contest.action_open()
        self.partner._sms_consent_set("opted_in", "staff", "test")
        with self.frozen_now(T0):
            self.env["sms.sender"]._send(
                [
                    SmsRequest(
                        body="Spring draw! Text WIN to enter.",
                        partner=self.partner,
                        kind="marketing",
                    )
                ]
            )
        row = self.outbox(partner_id=self.partner.id)[-1:]
        self.assertIn("Enter (WIN): http", row.body)
        self.assertNotIn("Text WIN", row.body, "the reply instruction gives way to the link")
        enter, _stop = self.reply_links(row)
        with self.frozen_now(T0 + timedelta(hours=1)):
            status, page = self.open_link(enter)
            self.assertEqual(status, 200)
            self.assertIn("Enter the contest", page)
            self.assertFalse(contest.entry_ids, "opening the page enters nobody")
            status, page = self.answer_link(enter, "enter")
        self.assertEqual(status, 200)
        self.assertIn("entry is recorded", page)
        self.assertEqual(contest.entry_ids.number, NUMBER)
        self.assertEqual(contest.entry_ids.partner_id, self.partner)
        with self.frozen_now(T0 + timedelta(hours=2)):
            status, _page = self.answer_link(enter, "win")
        self.assertEqual(status, 400, "only the page's own answer")
        self.assertEqual(len(contest.entry_ids), 1)

    def test_no_contest_link_without_an_open_contest(self):
        self.partner._sms_consent_set("opted_in", "staff", "test")
        with self.frozen_now(T0):
            self.env["sms.sender"]._send(
                [SmsRequest(body="Text WIN to enter.", partner=self.partner, kind="marketing")]
            )
        row = self.outbox(partner_id=self.partner.id)[-1:]
        self.assertNotIn("Enter (", row.body)
        self.assertEqual(len(self.reply_links(row)), 1, "the opt-out page only")
