"""sms.journey: its steps sent at the contact's best hour compared with the others."""

from odoo import api, fields, models

from ..tools import best_hour
from ..tools import journey as journey_tools


class SmsJourney(models.Model):
    """The results of the steps sent at each contact's best hour next to those of the
    other texting steps (``sms.journey.step.send_at_best_hour``): what send-time
    optimisation gives, in the journey's results."""

    _inherit = "sms.journey"

    best_hour_comparison = fields.Text(
        "Best hour vs due time",
        compute="_compute_best_hour_comparison",
        help="SMS sent, clicked and replied by the texting steps sent at the contact's "
        "best hour, and by the others (the results' last refresh).",
    )

    @api.depends("step_ids.send_at_best_hour", "step_ids.action")
    def _compute_best_hour_comparison(self):
        for journey in self:
            steps = journey.step_ids.filtered(lambda step: step.action in journey_tools.SMS_ACTIONS)
            if not any(steps.mapped("send_at_best_hour")):
                journey.best_hour_comparison = False
                continue
            sums = best_hour.compare(
                (s.send_at_best_hour, s.sent_count, s.clicked_count, s.replied_count) for s in steps
            )
            labels = {
                True: self.env._("At the contact's best hour"),
                False: self.env._("At the step's due time"),
            }
            journey.best_hour_comparison = "\n".join(
                self.env._(
                    "%(side)s: %(sent)s sent, %(clicked).1f%% clicked, %(replied).1f%% replied",
                    side=labels[side],
                    sent=sent,
                    clicked=best_hour.rate(clicked, sent),
                    replied=best_hour.rate(replied, sent),
                )
                for side, (sent, clicked, replied) in sorted(sums.items(), reverse=True)
            )
