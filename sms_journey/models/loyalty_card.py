from odoo import fields, models


class LoyaltyCard(models.Model):
    """Coupons handed out by a journey SMS step (``{{ coupon_code }}``): the participant
    and step they were made for, so that their redemption on an order is attributed."""

    _inherit = "loyalty.card"

    sms_journey_participant_id = fields.Many2one(
        "sms.journey.participant",
        "SMS journey participant",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    sms_journey_step_id = fields.Many2one(
        "sms.journey.step",
        "SMS journey step",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
    )
