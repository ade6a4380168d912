from odoo import _, models


class PhoneBlacklist(models.Model):
    """Keep partners' SMS consent in step with Odoo's blacklist.

    Odoo's own features (mass mailing unsubscribe links, the blacklist menu) call
    ``_add``/``_remove``; the blacklist stays the single list of opted-out numbers and
    the partners' consent state follows it.
    """

    _inherit = "phone.blacklist"

    def _add(self, numbers, message=None):
        records = super()._add(numbers, message=message)
        if not self.env.context.get("sms_journey_consent_sync"):
            self._sync_partner_consent(numbers, "opted_out")
        return records

    def _remove(self, numbers, message=None):
        records = super()._remove(numbers, message=message)
        if not self.env.context.get("sms_journey_consent_sync"):
            self._sync_partner_consent(numbers, "unknown")
        return records

    def _sync_partner_consent(self, numbers, state):
        partners = (
            self.env["res.partner"]
            .sudo()
            .search([("phone_sanitized", "in", list(numbers)), ("sms_consent_state", "!=", state)])
        )
        for partner in partners:
            partner.with_context(sms_journey_consent_sync=True)._sms_consent_set(
                state,
                "blacklist",
                _("Changed in the phone blacklist by %s", self.env.user.name),
                partner.phone_sanitized,
            )
