from odoo import fields, models


class MailNotification(models.Model):
    _inherit = "mail.notification"

    # The gateway outbox cancels SMS for consent reasons; Odoo only knew these codes on
    # mass-mailing traces, so chatter notifications could not show them.
    failure_type = fields.Selection(
        selection_add=[
            ("sms_blacklist", "Blacklisted"),
            ("sms_optout", "Opted Out"),
        ]
    )
