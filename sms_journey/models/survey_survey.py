from odoo import fields, models


class SurveySurvey(models.Model):
    """An Odoo survey can route reviews: a completed answer whose score reaches the
    threshold gets the review request SMS, a lower one the salesperson's activity."""

    _inherit = "survey.survey"

    sms_review_routing = fields.Boolean(
        "Route to reviews by SMS",
        help="A completed answer scoring at least “Satisfied from (%)” gets the review "
        "request SMS with the review link; a lower one schedules a call for the "
        "contact's salesperson.",
    )
    sms_review_threshold = fields.Float("Satisfied from (%)", default=80)
    sms_review_url = fields.Char("Review link", help="Empty: the company's review link.")
