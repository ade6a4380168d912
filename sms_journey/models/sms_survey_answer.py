from odoo import api, fields, models


class SmsSurveyAnswer(models.Model):
    """A valid answer to an SMS survey question.

    A grade to a question that routes reviews is routed when it is recorded
    (``_route_review``): the review request or the salesperson's activity."""

    _name = "sms.survey.answer"
    _description = "SMS Survey Answer"
    _order = "answered_at desc, id desc"
    _rec_name = "value"
    _check_company_auto = True

    question_id = fields.Many2one(
        "sms.survey.question", required=True, ondelete="cascade", index=True, check_company=True
    )
    answer_type = fields.Selection(related="question_id.answer_type")
    partner_id = fields.Many2one("res.partner", ondelete="set null", index="btree_not_null")
    value = fields.Char(required=True)
    value_number = fields.Float(
        "Score", aggregator="avg", help="The grade, 1/0 for yes/no, the option's position."
    )
    answered_at = fields.Datetime(required=True, default=fields.Datetime.now)
    interaction_id = fields.Many2one(
        "sms.interaction", "SMS", ondelete="set null", index="btree_not_null"
    )
    journey_id = fields.Many2one("sms.journey", ondelete="set null")
    # a question shared by all companies is answered for the company it came in for
    company_id = fields.Many2one(
        "res.company", compute="_compute_company_id", store=True, precompute=True, index=True
    )

    @api.depends("question_id", "interaction_id", "journey_id")
    def _compute_company_id(self):
        for answer in self:
            answer.company_id = (
                answer.question_id.company_id
                or answer.interaction_id.company_id
                or answer.journey_id.company_id
            )

    @api.model_create_multi
    def create(self, vals_list):
        answers = super().create(vals_list)
        # an answer by SMS reply is routed by the inbound pipeline, with the reply's
        # batch (``sms.interaction._record_survey_answer``)
        answers.filtered(
            lambda a: a.question_id.review_routing and not a.interaction_id
        )._route_review()
        return answers

    def _route_review(self, batch=None):
        """Route the grade of these answers (``sms.review._route``); the review request
        to an answer by SMS reply is an answer of the reply's ``batch``."""
        for answer in self:
            question = answer.question_id
            answer.env["sms.review"]._route(
                answer.partner_id,
                answer.value_number,
                question.review_threshold,
                link=question.review_url,
                origin=question.name,
                interaction=answer.interaction_id,
                batch=batch,
            )
