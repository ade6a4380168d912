"""res.config.settings: the company's global control group (``sms.global.holdout.period``).

The share and length typed here take effect through "Start a new holdout period" only:
the running period keeps the share and seed it was drawn with, so a new share always
starts a new period (and ends the running one)."""

from odoo import api, fields, models

SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_global_holdout_period_id = fields.Many2one(
        "sms.global.holdout.period",
        "Running control group period",
        compute="_compute_sms_global_holdout_period_id",
        groups=SMS_MANAGER,
    )
    sms_global_holdout_percent = fields.Float(
        "Share held out (%)",
        compute="_compute_sms_global_holdout",
        store=True,
        readonly=False,
        groups=SMS_MANAGER,
    )
    sms_global_holdout_days = fields.Integer(
        "Period length (days)",
        compute="_compute_sms_global_holdout",
        store=True,
        readonly=False,
        groups=SMS_MANAGER,
    )

    @api.depends("company_id")
    def _compute_sms_global_holdout_period_id(self):
        Period = self.env["sms.global.holdout.period"]
        for settings in self:
            settings.sms_global_holdout_period_id = Period._running(settings.company_id)

    @api.depends("company_id")
    def _compute_sms_global_holdout(self):
        Period = self.env["sms.global.holdout.period"]
        for settings in self:
            running = Period._running(settings.company_id)
            settings.sms_global_holdout_percent = running.percent if running else 10.0
            settings.sms_global_holdout_days = (
                (running.date_end - running.date_start).days if running else 90
            )

    def action_sms_start_global_holdout(self):
        """Start a new period of the company's global control group with the share and
        length typed here (a new seed; the running period ends now)."""
        self.ensure_one()
        self.company_id._sms_start_global_holdout(
            self.sms_global_holdout_percent, self.sms_global_holdout_days
        )
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_sms_end_global_holdout(self):
        """End the running period now: marketing reaches everyone again."""
        self.ensure_one()
        self.company_id._sms_end_global_holdout()
        return {"type": "ir.actions.client", "tag": "reload"}
