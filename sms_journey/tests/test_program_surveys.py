from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import LandingMixin, SmsJourneyCase, SmsJourneyHttpCase

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window


@tagged("post_install", "-at_install")
class TestProgramLandingPages(LandingMixin, SmsJourneyCase):
    """{{ landing_url }}: a page, a product, a promotion or a survey, per tracked link."""

    def send(self, **step_values):
        journey = self.make_journey([self.sms_step(self.tpl_landing, **step_values)], goal_days=0)
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent", trace.skip_reason)
        return journey, trace

    def test_product_page(self):
        product = self.env["product.product"].create({"name": "Desk", "is_published": True})
        journey, trace = self.send(landing_type="product", landing_product_id=product.id)
        _path, url = self.link_of(trace)
        self.assertEqual(url, f"{journey.get_base_url()}{product.website_url}")
        self.assertNotIn("[LANDING-URL]", trace.body)

    def test_website_page(self):
        page = self.env["website.page"].search([("url", "=", "/contactus")], limit=1)
        self.assertTrue(page)
        journey, trace = self.send(landing_type="page", landing_page_id=page.id)
        self.assertEqual(self.link_of(trace)[1], f"{journey.get_base_url()}/contactus")

    def test_promotion_with_a_code_applies_it_to_the_cart(self):
        program = self.env["loyalty.program"].create(
            {
                "name": "Spring promo",
                "program_type": "promo_code",
                "rule_ids": [(0, 0, {"code": "SPRING10", "mode": "with_code"})],
                "reward_ids": [(0, 0, {"reward_type": "discount", "discount": 10})],
            }
        )
        journey, trace = self.send(landing_type="promotion", landing_program_id=program.id)
        self.assertEqual(self.link_of(trace)[1], f"{journey.get_base_url()}/coupon/SPRING10")

    def test_promotion_of_the_step_coupons_carries_each_contact_s_code(self):
        program = self.env.ref("sms_journey.loyalty_program_reactivation")
        journey, trace = self.send(
            landing_type="promotion",
            landing_program_id=program.id,
            loyalty_program_id=program.id,
        )
        card = self.env["loyalty.card"].search(
            [("sms_journey_participant_id", "=", trace.participant_id.id)]
        )
        self.assertEqual(self.link_of(trace)[1], f"{journey.get_base_url()}/coupon/{card.code}")

    def test_no_landing_page_drops_the_placeholder(self):
        _journey, trace = self.send()
        self.assertEqual(trace.body, "Hi Giulia Rossi, have a look: ")

    def test_odoo_survey_condition_with_score(self):
        step = self.env["sms.journey.step"].new(
            {"condition": "odoo_survey", "condition_survey_id": self.survey.id}
        )
        Participant = self.env["sms.journey.participant"]
        self.assertFalse(Participant._partner_condition_met(step, self.partner))
        self.answer(self.partner, self.hardly)
        self.assertTrue(Participant._partner_condition_met(step, self.partner))
        step.condition_operator, step.condition_value = ">=", "50"
        self.assertFalse(Participant._partner_condition_met(step, self.partner))
        self.answer(self.partner, self.surely)
        self.assertTrue(Participant._partner_condition_met(step, self.partner))
        step.condition_operator, step.condition_value = "=", "100"
        self.assertTrue(Participant._partner_condition_met(step, self.partner))

    def test_a_survey_that_requires_sign_in_cannot_be_linked(self):
        self.survey.users_login_required = True
        with self.assertRaises(ValidationError):
            self.make_journey(
                [
                    self.sms_step(
                        self.tpl_landing, landing_type="survey", landing_survey_id=self.survey.id
                    )
                ]
            )

    def test_shipped_reactivation_links_its_survey(self):
        step = self.env.ref("sms_journey.sms_journey_reactivation_step_survey")
        self.assertEqual(step.landing_type, "survey")
        self.assertEqual(step.landing_survey_id, self.env.ref("sms_journey.survey_reactivation"))
        self.assertIn("{{ landing_url }}", step.template_id.body)
        self.assertNotIn("/shop", step.template_id.body)


@tagged("post_install", "-at_install")
class TestProgramSurveyLinkHttp(LandingMixin, SmsJourneyHttpCase):
    """End to end: the participant's short link opens the survey on their own answer,
    the answer submitted on the survey's pages makes the journey's split take yes."""

    def test_survey_link_answer_and_split(self):
        other = self.make_partner("Marco Bianchi", "+39 333 765 4321")
        tag = self.env["res.partner.category"].create({"name": "Would recommend"})
        journey = self.make_journey(
            [
                self.sms_step(
                    self.tpl_landing, landing_type="survey", landing_survey_id=self.survey.id
                ),
                {
                    "action": "branch",
                    "wait_amount": 2,
                    "wait_unit": "days",
                    "condition": "odoo_survey",
                    "condition_survey_id": self.survey.id,
                    "condition_operator": ">=",
                    "condition_value": "50",
                },
            ],
            audience_domain=f"[('id', 'in', {(self.partner | other).ids})]",
            goal_days=0,
        )
        branch = journey.step_ids.filtered(lambda s: s.action == "branch")
        self.add_path(branch, "yes", [{"action": "tag_add", "tag_id": tag.id}])
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        trace = self.traces(journey, partner_id=self.partner.id)
        path, target = self.link_of(trace)
        self.assertTrue(target.endswith(self.survey.get_start_url()))

        # the click opens the survey on Giulia's own answer, tied to her participant
        response = self.url_open(path, allow_redirects=False)
        self.assertIn(response.status_code, (301, 302, 303))
        location = urlparse(response.headers["Location"])
        self.assertEqual(location.path, self.survey.get_start_url())
        token = parse_qs(location.query)["answer_token"][0]
        answer = self.env["survey.user_input"].search([("access_token", "=", token)])
        self.assertEqual(answer.partner_id, self.partner)
        self.assertEqual(answer.sms_journey_participant_id, trace.participant_id)
        self.assertEqual(answer.sms_journey_trace_id, trace)
        self.assertTrue(trace.clicked_at)
        # a second click opens the same answer
        again = self.url_open(path, allow_redirects=False)
        self.assertIn(f"answer_token={token}", again.headers["Location"])
        # an edited trace id opens the survey without anyone's answer
        code = path.split("/")[2]
        forged = self.url_open(
            f"/r/{code}/j/{trace.id + 1}/{path.split('/')[-1]}", allow_redirects=False
        )
        self.assertNotIn("answer_token", forged.headers["Location"])

        # the survey's own pages: start, begin, submit
        page = self.url_open(f"{location.path}?{location.query}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Would you recommend us?", page.text)
        base = f"/survey/{{}}/{self.survey.access_token}/{token}"
        self.make_jsonrpc_request(base.format("begin"), {})
        self.make_jsonrpc_request(base.format("submit"), {str(self.question.id): self.surely.id})
        answer.invalidate_recordset()
        self.assertEqual(answer.state, "done")
        self.assertEqual(answer.scoring_percentage, 100)

        self.run_crons(T0 + timedelta(days=2))
        self.assertIn(tag, self.partner.category_id)
        self.assertNotIn(tag, other.category_id)
        mine = journey.participant_ids.filtered(lambda p: p.partner_id == self.partner)
        self.assertIn(": yes", mine.path)
        self.assertIn(": no", (journey.participant_ids - mine).path)
