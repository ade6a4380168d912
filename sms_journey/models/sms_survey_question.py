from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import keyword_rules
from ..tools import survey as survey_tools
from .bulk_sql import insert_rows
from .sms_sender import SmsRequest


class SmsSurveyQuestion(models.Model):
    """A question asked by SMS and answered by a short reply (1-5, YES/NO, an option).

    Sending it opens a :class:`sms.survey.request` per contact: the contact's next reply
    within ``open_days`` is read as the answer. A reply that is not a valid answer gets
    one clarifying SMS; after that, replies go to keyword rules and the courtesy reply.
    """

    _name = "sms.survey.question"
    _description = "SMS Survey Question"
    _order = "id desc"

    name = fields.Char("Title", required=True, translate=True)
    active = fields.Boolean(default=True)
    body = fields.Text(
        "Question SMS",
        required=True,
        translate=True,
        help="The SMS we send, e.g. “How was your visit? Reply 1 (bad) to 5 (great)”.",
    )
    answer_type = fields.Selection(
        [("scale", "Grade"), ("yes_no", "Yes / No"), ("choice", "One option of a list")],
        default="scale",
        required=True,
    )
    scale_min = fields.Integer("From", default=1)
    scale_max = fields.Integer("To", default=5)
    choices = fields.Char(help="Options separated by commas; contacts reply a name or its number.")
    open_days = fields.Integer(
        "Open for (days)", default=3, help="Replies after this are not answers any more."
    )
    clarification = fields.Char(
        "Clarification SMS",
        translate=True,
        help="Sent once when a reply is not a valid answer. Empty: a default text naming "
        "the expected answers.",
    )
    thanks = fields.Char("Thank-you SMS", translate=True, help="Sent after a valid answer.")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    # reviews: satisfied answers get the review request, unsatisfied ones the salesperson
    review_routing = fields.Boolean(
        "Route to reviews",
        help="A grade at least “Satisfied from” gets the review request SMS with the "
        "review link; a lower one schedules a call for the contact's salesperson.",
    )
    review_threshold = fields.Float("Satisfied from", default=4)
    review_url = fields.Char("Review link", help="Empty: the company's review link.")
    request_ids = fields.One2many("sms.survey.request", "question_id", "Sent to")
    answer_ids = fields.One2many("sms.survey.answer", "question_id", "Answers")
    request_count = fields.Integer("Sent", compute="_compute_statistics")
    answer_count = fields.Integer("Answered", compute="_compute_statistics")
    answer_average = fields.Float("Average", compute="_compute_statistics", digits=(12, 2))

    @api.depends("request_ids", "answer_ids.value_number")
    def _compute_statistics(self):
        request_counts = dict(
            self.env["sms.survey.request"]._read_group(
                [("question_id", "in", self.ids)], ["question_id"], ["__count"]
            )
        )
        answers = {
            question: (count, average)
            for question, count, average in self.env["sms.survey.answer"]._read_group(
                [("question_id", "in", self.ids)], ["question_id"], ["__count", "value_number:avg"]
            )
        }
        for question in self:
            count, average = answers.get(question, (0, 0.0))
            question.request_count = request_counts.get(question, 0)
            question.answer_count = count
            question.answer_average = average or 0.0

    @api.constrains("body")
    def _check_body_length(self):
        # refused when saved rather than by the provider once sent to every contact
        for question in self:
            self.env["sms.gateway"]._check_sms_length(question.body, question.company_id)

    @api.constrains("answer_type", "scale_min", "scale_max", "choices", "open_days")
    def _check_answers(self):
        for question in self:
            if question.answer_type == "scale" and question.scale_min >= question.scale_max:
                raise ValidationError(self.env._("“%s”: the grade range is empty.", question.name))
            if question.answer_type == "choice" and len(question._choice_list()) < 2:
                raise ValidationError(self.env._("“%s”: list at least two options.", question.name))
            if question.open_days <= 0:
                raise ValidationError(self.env._("“%s”: the days must be positive.", question.name))

    @api.constrains("review_routing", "answer_type")
    def _check_review_routing(self):
        for question in self:
            if question.review_routing and question.answer_type != "scale":
                raise ValidationError(
                    self.env._("“%s”: only grade questions can route to reviews.", question.name)
                )

    def _choice_list(self):
        return keyword_rules.parse_keywords(self.choices)

    def _parse(self, text):
        """The valid :class:`..tools.survey.Answer` in ``text``, or None."""
        self.ensure_one()
        return survey_tools.parse_answer(
            text, self.answer_type, self.scale_min, self.scale_max, self._choice_list()
        )

    def _clarification_text(self):
        self.ensure_one()
        if self.answer_type == "yes_no":
            # the yes words of every language we serve are understood (tools/survey.py)
            expected = self.env._("YES/NO")
        else:
            expected = survey_tools.expected_answers(
                self.answer_type, self.scale_min, self.scale_max, self._choice_list()
            )
        return self.clarification or self.env._(
            "Sorry, we did not understand. Please reply %(expected)s to: %(question)s",
            expected=expected,
            question=self.body,
        )

    def _send_to(self, partners):
        """Text the question to ``partners`` (marketing: only those who consented get
        it) and open one request per contact who was texted."""
        self.ensure_one()
        partners = partners.filtered(lambda partner: partner._sms_number())
        if not partners:
            raise UserError(self.env._("None of these contacts has a mobile number."))
        # the question in each contact's language: one read per language
        langs = partners._sms_langs(self.company_id)
        bodies = {lang: self.with_context(lang=lang).body for lang in set(langs.values())}
        sent = self.env["sms.sender"]._send(
            [
                SmsRequest(
                    body=bodies[langs[partner.id]],
                    partner=partner,
                    kind="marketing",
                    reply_link="survey",
                )
                for partner in partners
            ],
            # the question's company (its gateway and rules), not the sending user's
            company=self.company_id or None,
        )
        now = fields.Datetime.now()
        # one INSERT for the requests (the ORM writes 100 rows a statement)
        requests = insert_rows(
            self.env["sms.survey.request"],
            [
                {
                    "question_id": self.id,
                    "company_id": (self.company_id or self.env.company).id,
                    "partner_id": sms.request.partner.id,
                    "number": sms.request.partner._sms_number(),
                    "sms_uuid": sms.uuid,
                    "sent_at": now,
                    "state": "open",
                    "clarification_sent": False,
                }
                for sms in sent
                if not sms.verdict.canceled
            ],
        )
        self.invalidate_recordset(["request_ids", "request_count"])
        return requests

    def action_view_answers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Answers"),
            "res_model": "sms.survey.answer",
            "view_mode": "pivot,graph,list",
            "domain": [("question_id", "=", self.id)],
        }
