"""res.partner: whether the contact is in its company's global control group
(``sms.global.holdout.period``), shown on the contact form."""

from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    sms_global_holdout_until = fields.Datetime(
        "In the global control group until",
        compute="_compute_sms_global_holdout_until",
        groups="sms_journey.group_sms_journey_user",
        help="Held out of every marketing program of the current company (journeys, SMS "
        "mailings, re-targeting) until then, to measure what marketing brings. "
        "Transactional and essential SMS still go.",
    )

    def _compute_sms_global_holdout_until(self):
        period = self.env["sms.global.holdout.period"]._running(self.env.company)
        for partner in self:
            held = period and partner.id and period._holds_out(partner)
            partner.sms_global_holdout_until = period.date_end if held else False
