from odoo import models


class SmsTwilioNumber(models.Model):
    """A company's Twilio number routes the replies sent to it
    (``sms.gateway._odoo_twilio_routes``, cached): any change clears that cache."""

    _name = "sms.twilio.number"
    _inherit = ["sms.twilio.number", "sms.cached.lookup.mixin"]
