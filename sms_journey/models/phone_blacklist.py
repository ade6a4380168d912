from odoo import api, models, tools
from odoo.tools import SQL

from ..tools import consent as consent_tools


class PhoneBlacklist(models.Model):
    """Keep partners' SMS consent in step with Odoo's blacklist.

    Odoo's own features (mass mailing unsubscribe links, the blacklist menu) call
    ``_add``/``_remove``; the blacklist stays the single list of opted-out numbers and
    the partners' consent state follows it.
    """

    _name = "phone.blacklist"
    _inherit = ["phone.blacklist", "sms.cached.lookup.mixin"]

    @api.model
    @tools.ormcache()
    def _sms_journey_flags(self):
        """(any company sends through a gateway, the blacklist has an active number):
        read on every SMS sent, so that Odoo's IAP path costs no extra query when no
        gateway is set and nobody opted out. Cleared by any change of gateways, of a
        company's gateway, of the routes or of the blacklist (``sms.cached.lookup.mixin``)."""
        self.flush_model(["active"])
        self.env["res.company"].flush_model(["sms_gateway_id"])
        self.env["sms.gateway.route"].flush_model()
        gateway_used, any_active = self.env.execute_query(
            SQL(
                """SELECT EXISTS(SELECT 1 FROM res_company WHERE sms_gateway_id IS NOT NULL)
                          OR EXISTS(SELECT 1 FROM sms_gateway_route),
                          EXISTS(SELECT 1 FROM phone_blacklist WHERE active)"""
            )
        )[0]
        return gateway_used, any_active

    @api.model
    def _sms_journey_any_active(self):
        return self._sms_journey_flags()[1]

    # A number entering the blacklist (``_add``, the menu, an import) loses its held SMS
    # at once; Odoo's ``_add`` and ``create`` reactivate archived entries with ``write``.
    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env["sms.gateway.message"]._cancel_refused_for_numbers(
            records.filtered("active").mapped("number")
        )
        return records

    def write(self, vals):
        result = super().write(vals)
        if vals.get("active") or "number" in vals:
            self.env["sms.gateway.message"]._cancel_refused_for_numbers(
                self.filtered("active").mapped("number")
            )
        return result

    def _add(self, numbers, message=None):
        # Odoo's own paths (unsubscribe page, blacklist menu): the partners follow
        records = super()._add(numbers, message=message)
        self._sync_partner_consent(numbers, "opted_out")
        return records

    def _remove(self, numbers, message=None):
        records = super()._remove(numbers, message=message)
        self._sync_partner_consent(numbers, "unknown")
        return records

    def _sms_journey_add(self, numbers, message):
        """Blacklist ``numbers`` for ``res.partner._sms_consent_set``, which records the
        partners' consent itself: Odoo's ``_add`` without the partners' sync."""
        return super()._add(numbers, message=message)

    def _sms_journey_remove(self, numbers, message):
        """Odoo's ``_remove`` without the partners' sync (see ``_sms_journey_add``)."""
        return super()._remove(numbers, message=message)

    def _sync_partner_consent(self, numbers, state):
        partners = (
            self.env["res.partner"]
            .sudo()
            .search([("phone_sanitized", "in", list(numbers)), ("sms_consent_state", "!=", state)])
        )
        if state == "unknown":
            # taking a number off the blacklist never lifts the contact's own STOP
            partners = partners.filtered(
                lambda partner: partner.sms_consent_source not in consent_tools.CONTACT_SOURCES
            )
        for partner in partners:
            partner._sms_consent_set(
                state,
                "blacklist",
                self.env._("Changed in the phone blacklist by %s", self.env.user.name),
                partner.phone_sanitized,
            )
