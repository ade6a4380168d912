from odoo import fields, models


class SurveyUserInput(models.Model):
    """An Odoo survey answered from a journey SMS link: tied to the journey participant
    (and the trace whose link opened it) besides the contact, so journey conditions
    ("completed an Odoo survey") and reviews can read it.

    Completing an answer of a known contact is an interaction (inactivity, stages) and,
    when the survey routes reviews, sends the review request or schedules the
    salesperson's activity (``sms.review``)."""

    _inherit = "survey.user_input"

    sms_journey_participant_id = fields.Many2one(
        "sms.journey.participant",
        "SMS journey participant",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    sms_journey_trace_id = fields.Many2one(
        "sms.journey.trace",
        "SMS journey trace",
        ondelete="set null",
        readonly=True,
        index="btree_not_null",
    )

    def _mark_done(self):
        result = super()._mark_done()
        answered = self.filtered(lambda answer: answer.partner_id and not answer.test_entry)
        if answered:
            answered.partner_id.sudo()._sms_touch_interaction(fields.Datetime.now())
        for answer in answered.filtered("survey_id.sms_review_routing"):
            survey = answer.survey_id
            self.env["sms.review"].sudo()._route(
                answer.partner_id,
                answer.scoring_percentage,
                survey.sms_review_threshold,
                link=survey.sms_review_url,
                origin=survey.title,
            )
        return result
