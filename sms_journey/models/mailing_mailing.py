from odoo import api, models


class MailingMailing(models.Model):
    """SMS mailings get the same figures as journeys (``sms.result.mixin``): sent,
    delivered, canceled, clicks, replies, opt-outs, attributed orders, revenue, cost,
    ROAS and ROI. An SMS mailing's text is no longer than the company's gateway takes."""

    _name = "mailing.mailing"
    _inherit = ["mailing.mailing", "sms.result.mixin"]
    _sms_result_field = "mailing_id"

    @api.constrains("body_plaintext", "mailing_type")
    def _check_sms_body_length(self):
        # refused when saved rather than by the provider for every recipient
        gateways = self.env["sms.gateway"]
        for mailing in self.filtered(lambda m: m.mailing_type == "sms"):
            gateways._check_sms_length(mailing.body_plaintext)
