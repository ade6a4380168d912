"""res.company: starting and ending the periods of its global control group
(``sms.global.holdout.period``); SMS managers only."""

import logging

from odoo import fields, models
from odoo.exceptions import AccessError

_logger = logging.getLogger(__name__)

SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class ResCompany(models.Model):
    _inherit = "res.company"

    def _sms_check_global_holdout_rights(self):
        if not self.env.su and not self.env.user.has_group(SMS_MANAGER):
            raise AccessError(
                self.env._("Only SMS managers may start or end a global control group.")
            )

    def _sms_start_global_holdout(self, percent, days):
        """Start a new period of ``percent`` % for ``days`` days with a new seed (the
        running one ends now); returns it. The period is the log: its seed, start and
        the manager who started it."""
        self.ensure_one()
        self._sms_check_global_holdout_rights()
        period = self.env["sms.global.holdout.period"].sudo()._start(self, percent, days)
        _logger.info(
            "Global control group of %s: %s %% from %s to %s, seed %s, started by %s",
            self.name,
            period.percent,
            period.date_start,
            period.date_end,
            period.seed,
            self.env.user.login,
        )
        return period.sudo(self.env.su)

    def _sms_end_global_holdout(self):
        """End the running period now."""
        self.ensure_one()
        self._sms_check_global_holdout_rights()
        now = fields.Datetime.now()
        running = self.env["sms.global.holdout.period"]._running(self, now)
        if running:
            running.sudo().date_end = now
