from odoo import fields, models


class SmsResultDimensionMixin(models.AbstractModel):
    """What the results reports (``sms.result``, ``sms.result.event``) are cut by: the
    program an SMS belongs to — a journey step and its A/B variant, or an SMS mailing —
    and its company."""

    _name = "sms.result.dimension.mixin"
    _description = "Dimensions of SMS results"

    source = fields.Selection([("journey", "Journey"), ("mailing", "SMS mailing")], readonly=True)
    journey_id = fields.Many2one("sms.journey", readonly=True)
    step_id = fields.Many2one("sms.journey.step", "Journey step", readonly=True)
    variant_id = fields.Many2one("sms.journey.step.variant", "A/B variant", readonly=True)
    mailing_id = fields.Many2one("mailing.mailing", "SMS mailing", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
