"""sms.journey.step: *send at the contact's best hour* (send-time optimisation)."""

from odoo import fields, models

from ..tools import best_hour
from ..tools import journey as journey_tools


class SmsJourneyStep(models.Model):
    """A texting step may go at each contact's best hour of its due day
    (``tools/best_hour.py``): the step cron, the enrolment and the preview move its due
    time with ``_best_hour_due_times``; the policy still decides at send time."""

    _inherit = "sms.journey.step"

    send_at_best_hour = fields.Boolean(
        "At the contact's best hour",
        help="On the day the step is due, send at the hour the contact most often clicks "
        "or replies (recomputed daily), within the company's and the legal send windows "
        "and not before the previous step; without history, at the start of the window.",
    )

    def _best_hour_due_times(self, rows):
        """The due time of this step for each ``(partner, due, not_before)`` of ``rows``,
        in order: ``due`` moved to the contact's best hour of that day when the step
        asks for it, else ``due``. The windows are the policy's: the company's and the
        legal ones of the contact's number, in every zone it may be in."""
        self.ensure_one()
        if not (self.send_at_best_hour and self.action in journey_tools.SMS_ACTIONS):
            return [due for _partner, due, _not_before in rows]
        company = self.journey_id.company_id
        Sender = self.env["sms.sender"]
        company_window = Sender._policy_rules(company).window
        legal_rules = self.env["sms.send.rule"]._active_send_rules()
        dues = []
        for partner, due, not_before in rows:
            zones, applicable = Sender._zones_and_legal_rules(
                partner, partner.phone_sanitized or None, company, legal_rules
            )
            windows = (company_window, *(rule.window for rule in applicable))
            at = best_hour.best_instant(
                due,
                partner._sms_best_hour(),
                best_hour.best_hour_zone(partner.tz),
                windows,
                zones,
                not_before,
            )
            dues.append(at or due)
        return dues
