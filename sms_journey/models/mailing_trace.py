from odoo import fields, models
from odoo.tools import SQL


class MailingTrace(models.Model):
    """What the results of SMS mailings need on their traces: every click counted (a
    second click too) and the STOP that answered the SMS; indexes for the attribution
    of orders (by contact or by number) and of replies (by number)."""

    _inherit = "mailing.trace"

    sms_click_count = fields.Integer("SMS clicks", readonly=True)
    sms_opted_out_at = fields.Datetime("STOP received", readonly=True)

    def init(self):
        super().init()
        self.env.cr.execute(
            SQL(
                """
            CREATE INDEX IF NOT EXISTS mailing_trace_sms_number_index
                ON mailing_trace (sms_number) WHERE trace_type = 'sms';
            CREATE INDEX IF NOT EXISTS mailing_trace_sms_partner_index
                ON mailing_trace (res_id) WHERE trace_type = 'sms' AND model = 'res.partner';
            """
            )
        )
