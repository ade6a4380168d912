from odoo import fields, models


class SmsResultDimensionMixin(models.AbstractModel):
    """What the results reports (``sms.result``, ``sms.result.event``) are cut by: the
    program an SMS belongs to — a journey step (and, when journeys get them, its A/B
    variant) or an SMS mailing — its contact and company."""

    _name = "sms.result.dimension.mixin"
    _description = "Dimensions of SMS results"

    source = fields.Selection([("journey", "Journey"), ("mailing", "SMS mailing")], readonly=True)
    journey_id = fields.Many2one("sms.journey", "Journey", readonly=True)
    step_id = fields.Many2one("sms.journey.step", "Journey step", readonly=True)
    variant = fields.Char(readonly=True, help="A/B variant of the journey step, when it has one.")
    mailing_id = fields.Many2one("mailing.mailing", "SMS mailing", readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
