from odoo import models


class MailingMailing(models.Model):
    """SMS mailings get the same figures as journeys (``sms.result.mixin``): sent,
    delivered, canceled, clicks, replies, opt-outs, attributed orders, revenue, cost,
    ROAS and ROI."""

    _name = "mailing.mailing"
    _inherit = ["mailing.mailing", "sms.result.mixin"]
    _sms_result_field = "mailing_id"
