"""sms.journey.step: when a step is due for a contact: its wait (fixed, or a multiple of
the contact's rhythm), then, for a step sent at the contact's best hour, that hour of the
due day (``sms_journey_step_best_hour.py``). The enrolment, the step cron and the
preview all ask ``_due_times``."""

from odoo import models

from ..tools import journey as journey_tools


class SmsJourneyStep(models.Model):
    _inherit = "sms.journey.step"

    def _due_times(self, rows):
        """When this step is due for each ``(partner, enrolled_at, previous_at)`` of
        ``rows`` (the previous step done at ``previous_at``, None for the first step),
        in order: after its wait, at the contact's best hour when the step asks for it."""
        self.ensure_one()
        waited = [
            (partner, due, previous_at or enrolled_at)
            for (partner, enrolled_at, previous_at), due in zip(
                rows, self._waited_times(rows), strict=True
            )
        ]
        return self._best_hour_due_times(waited)

    def _entry_due_times(self, partners, entered):
        """When this first step is due for each of ``partners`` (in order) entering at
        ``entered``: as ``_due_times``, the contacts' records made only when the step
        reads their facts (a wait by the rhythm, the best hour): an enrolment passes
        tens of thousands of contacts."""
        self.ensure_one()
        reads_contact = self.wait_unit == "gap" or (
            self.send_at_best_hour and self.action in journey_tools.SMS_ACTIONS
        )
        if reads_contact:
            return self._due_times(
                [(partner, at, None) for partner, at in zip(partners, entered, strict=True)]
            )
        wait = journey_tools.wait_delta(self.wait_amount, self.wait_unit)
        return [at + wait for at in entered]

    def _waited_times(self, rows):
        """When this step's wait ends for each ``(partner, enrolled_at, previous_at)``
        of ``rows``: ``journey.step_due_time`` with the contact's order gap. The step's
        wait is read once (an enrolment passes tens of thousands of rows)."""
        self.ensure_one()
        amount, unit, wait_from = self.wait_amount, self.wait_unit, self.wait_from
        factor = self.wait_gap_factor
        # the rhythm is read by the engine, whoever's action moved the participant
        by_gap = unit == "gap"
        return [
            journey_tools.step_due_time(
                enrolled_at,
                previous_at,
                amount,
                unit,
                wait_from,
                gap_factor=factor,
                gap_days=partner.sudo().sms_order_gap_days if by_gap else None,
            )
            for partner, enrolled_at, previous_at in rows
        ]

    def _wait_label(self):
        """The step's wait as a person reads it: "after 1 day", "after 3 hours",
        "after 1.5 × the rhythm (else 30 days)"."""
        self.ensure_one()
        amount = self.wait_amount
        if self.wait_unit == "gap":
            # formatted apart: the .pot extractor evaluates the string arguments of _()
            factor = f"{self.wait_gap_factor:g}"
            return self.env._(
                "after %(factor)s × the contact's rhythm (else %(n)s days)",
                factor=factor,
                n=amount,
            )
        if self.wait_unit == "hours":
            return (
                self.env._("after 1 hour")
                if amount == 1
                else self.env._("after %(n)s hours", n=amount)
            )
        return (
            self.env._("after 1 day") if amount == 1 else self.env._("after %(n)s days", n=amount)
        )
