"""sms.sender: the reason a person reads for what the policy decided about one SMS
(the outbox's failure reason, the preview's, the composer's refusal)."""

from odoo import models

from ..tools import policy


class SmsSender(models.AbstractModel):
    _inherit = "sms.sender"

    def _reason_text(self, decision, partner, e164, error, rules, recipient):
        reason = decision.reason
        legal = ", ".join(decision.rule_names)
        if reason == policy.INVALID_NUMBER:
            return error or self.env._("Invalid phone number.")
        if reason == policy.DESTINATION_NOT_ALLOWED:
            return self._destination_not_allowed_text(e164)
        if reason == policy.OPTED_OUT:
            return self.env._("The number %(number)s opted out of SMS.", number=e164)
        if reason == policy.MARKETING_OPT_OUT:
            return self.env._(
                "%(who)s opted out of marketing SMS.", who=partner.display_name or e164
            )
        if reason == policy.NO_CONSENT:
            return self.env._(
                "No SMS marketing consent from %(who)s: marketing SMS need an opt-in.",
                who=(partner.display_name if partner else False) or e164,
            )
        if reason == policy.FREQUENCY_CAP:
            return self.env._(
                "Frequency cap: %(cap)s marketing SMS per %(hours)s hours already reached "
                "for this contact.",
                cap=rules.cap,
                hours=rules.cap_hours,
            )
        if reason == policy.LEGAL_CAP:
            return self.env._(
                "Legal maximum of marketing SMS per 24 hours already reached for this "
                "number (%(rules)s).",
                rules=legal,
            )
        if reason == policy.UNDELIVERABLE:
            return self.env._(
                "%(number)s is suppressed for marketing SMS: %(reason)s",
                number=e164,
                reason=partner.sms_suppressed_reason,
            )
        if reason == policy.GLOBAL_HOLDOUT:
            return self.env._(
                "%(who)s is in the global control group: no marketing SMS.",
                who=partner.display_name,
            )
        if reason == policy.NO_SEND_WINDOW:
            return self.env._(
                "No instant within %(days)s days is allowed by every send window "
                "(%(rules)s) in every zone of the recipient (%(zones)s).",
                days=rules.horizon.days,
                rules=legal or self.env._("quiet hours"),
                zones=", ".join(recipient.zones),
            )
        if decision.deferred_by:
            return self._deferral_text(decision, recipient, legal)
        return None

    def _deferral_text(self, decision, recipient, legal):
        """Why a deferred SMS waits: each of its ``deferred_by`` reasons, in order."""
        zones = ", ".join(recipient.zones or (recipient.tz,))
        labels = {
            policy.MARKETING_BUDGET: self.env._("monthly marketing budget reached"),
            policy.FREQUENCY_CAP: self.env._("frequency cap"),
            policy.QUIET_HOURS: self.env._("quiet hours (%(tz)s)", tz=zones),
            policy.LEGAL_WINDOW: self.env._(
                "legal send window: %(rules)s (%(zones)s)", rules=legal, zones=zones
            ),
        }
        return ", ".join(labels[code] for code in decision.deferred_by)
