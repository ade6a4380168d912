from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import LandingMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 10, 0)  # a Monday, 11:00 in Rome
NUMBER = "+393331234567"
OTHER = "+393337654321"
LINK = "https://reviews.example.com/acme"


@tagged("post_install", "-at_install")
class TestProgramReviews(LandingMixin, SmsJourneyCase):
    """Satisfied answers get the review request with its link, unsatisfied ones a call
    for the salesperson: from an SMS survey, a keyword rule and an Odoo survey."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls.env["res.users"].create(
            {
                "name": "Sandro Sales",
                "login": "sandro.reviews",
                "groups_id": [Command.link(cls.env.ref("base.group_user").id)],
            }
        )
        cls.other = cls.env["res.partner"].create(
            {"name": "Marco Bianchi", "mobile": "+39 333 765 4321", "tz": "Europe/Rome"}
        )
        cls.other._sms_consent_set("opted_in", "api", "test")
        (cls.partner | cls.other).user_id = cls.salesman
        cls.company.sms_review_url = LINK
        cls.env["sms.keyword.rule"].search([]).active = False
        cls.sms_question = cls.env["sms.survey.question"].create(
            {
                "name": "After purchase",
                "body": "How happy are you with your order? Reply 1 to 5",
                "answer_type": "scale",
                "review_routing": True,
                "review_threshold": 4,
            }
        )

    def review_requests(self, number):
        return [body for body in self.outbox(number=number).mapped("body") if LINK in body]

    def call_backs(self, partner):
        return partner.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("mail.mail_activity_data_call")
        )

    def test_sms_survey_satisfied_gets_the_review_request(self):
        with self.frozen_now(T0):
            self.sms_question._send_to(self.partner | self.other)
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.receive("5, great", sender=NUMBER)
            self.receive("2", sender=OTHER)
        requests = self.review_requests(NUMBER)
        self.assertEqual(len(requests), 1)
        self.assertIn("Thank you Giulia Rossi!", requests[0])
        self.assertIn("Acme", requests[0])
        self.assertFalse(self.call_backs(self.partner))
        # the unsatisfied one: no review request, a call for the salesperson
        self.assertFalse(self.review_requests(OTHER))
        call = self.call_backs(self.other)
        self.assertEqual(call.user_id, self.salesman)
        self.assertIn("(2.0): After purchase", call.summary)
        self.assertEqual(self.sms_question.answer_ids.mapped("value_number"), [2.0, 5.0])

    def test_question_link_overrides_the_company_link(self):
        self.sms_question.review_url = "https://g.page/r/own"
        with self.frozen_now(T0):
            self.sms_question._send_to(self.partner)
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.receive("4", sender=NUMBER)
        self.assertIn("https://g.page/r/own", self.outbox(number=NUMBER)[-1].body)

    def test_without_a_review_link_a_satisfied_answer_sends_nothing(self):
        self.company.sms_review_url = False
        with self.frozen_now(T0):
            self.sms_question._send_to(self.partner)
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.receive("5", sender=NUMBER)
        self.assertEqual(len(self.outbox(number=NUMBER)), 1)  # the question only
        self.assertFalse(self.call_backs(self.partner))

    def test_only_grade_questions_route_reviews(self):
        with self.assertRaises(ValidationError):
            self.sms_question.answer_type = "yes_no"

    def test_keyword_rule_routes_the_grade_of_the_reply(self):
        self.env["sms.keyword.rule"].create(
            {
                "name": "Rate us",
                "keywords": "RATE",
                "match_mode": "first_word",
                "action_ids": [Command.create({"type": "review", "review_threshold": 4})],
            }
        )
        with self.frozen_now(T0):
            self.receive("RATE 5", sender=NUMBER)
            self.receive("rate 1 too slow", sender=OTHER)
            self.receive("RATE", sender=NUMBER)  # no grade: nothing routed
        self.assertEqual(len(self.review_requests(NUMBER)), 1)
        self.assertFalse(self.review_requests(OTHER))
        self.assertEqual(len(self.call_backs(self.other)), 1)
        self.assertIn("too slow", str(self.call_backs(self.other).note))

    def test_odoo_survey_routes_by_score(self):
        self.survey.write({"sms_review_routing": True, "sms_review_threshold": 80})
        with self.frozen_now(T0):
            self.answer(self.partner, self.surely)  # 100 %
            self.answer(self.other, self.hardly)  # 0 %
        self.assertEqual(len(self.review_requests(NUMBER)), 1)
        self.assertFalse(self.review_requests(OTHER))
        self.assertEqual(self.call_backs(self.other).user_id, self.salesman)
        # the completed survey is an interaction of the contact
        self.assertEqual(self.partner.last_interaction_date, T0)

    def test_shipped_demo_setup(self):
        template = self.env.ref("sms_journey.sms_template_review_request")
        self.assertIn("{{ review_url }}", template.body)
        question = self.env.ref(
            "sms_journey.sms_survey_question_after_purchase_demo", raise_if_not_found=False
        )
        if question:  # demo data installed
            self.assertTrue(question.review_routing)
            journey = self.env.ref("sms_journey.sms_journey_after_purchase_demo")
            self.assertEqual(journey.step_ids.survey_question_id, question)
