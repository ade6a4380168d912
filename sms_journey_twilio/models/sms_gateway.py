import dataclasses

from odoo import api, fields, models, tools
from odoo.exceptions import UserError

from odoo.addons.sms_journey.tools import phone as phone_tools
from odoo.addons.sms_journey.tools.gateways.twilio import TwilioClient

#: the provider code of a company's Odoo's Twilio anchor (``res.company``
#: ``_sms_journey_twilio_gateway``)
ODOO_TWILIO = "odoo_twilio"


class SmsGateway(models.Model):
    """Odoo's Twilio (``sms_twilio``) as the inbound anchor of a company.

    Replies to the company's Twilio numbers enter the inbound pipeline as replies of
    every gateway do: stored on a gateway (``sms.interaction.gateway_id``, the long-SMS
    parts, the provider message id's uniqueness), verified and parsed by our Twilio client
    with the company's own account SID and auth token. This gateway never sends: it is
    nobody's ``sms_gateway_id``, so the company's SMS (and the answers to these replies,
    ``sms.sender``) leave through ``sms.sms`` and Odoo's Twilio.
    """

    _inherit = "sms.gateway"

    code = fields.Selection(
        selection_add=[(ODOO_TWILIO, "Odoo's Twilio (replies only)")],
        ondelete={ODOO_TWILIO: "set default"},
    )

    def _get_client_class(self):
        if self.code != ODOO_TWILIO:
            return super()._get_client_class()
        return TwilioClient

    def _get_client_config(self):
        config = super()._get_client_config()
        if self.code != ODOO_TWILIO:
            return config
        company = self.sudo().company_id
        return dataclasses.replace(
            config,
            account_sid=company.sms_twilio_account_sid or None,
            auth_token=company.sms_twilio_auth_token or None,
            sender=company.sms_twilio_number_ids[:1].number or None,
        )

    def _compute_webhook_urls(self):
        result = super()._compute_webhook_urls()
        for gateway in self.filtered(lambda g: g.code == ODOO_TWILIO and g.id):
            # Twilio calls the numbers' webhook; delivery reports go to sms_twilio's route
            gateway.inbound_url = f"{gateway.get_base_url()}/sms_journey_twilio/inbound"
            gateway.status_url = False
            gateway.webhook_warning = False
        return result

    def _check_usable(self):
        for gateway in self:
            if gateway.code == ODOO_TWILIO:
                raise UserError(
                    self.env._(
                        "%(gateway)s only receives replies: SMS to send go through Odoo's "
                        "Twilio itself (Settings → SMS Journeys → SMS transport).",
                        gateway=gateway.name,
                    )
                )
        return super()._check_usable()

    @api.model
    def _odoo_twilio_gateway_for(self, to_number, account_sid=None):
        """The anchor of the company whose Odoo's Twilio received an SMS sent to
        ``to_number`` (one of its ``sms.twilio.number``), else of the one company whose
        account is ``account_sid``; an empty recordset when none sends through Odoo's
        Twilio. Read from a cached map of numbers: the webhook runs at line rate."""
        numbers, accounts = self._odoo_twilio_routes()
        e164 = phone_tools.try_normalize(to_number or "") or to_number
        company_id = numbers.get(e164)
        if company_id is None and account_sid:
            candidates = accounts.get(account_sid, ())
            company_id = candidates[0] if len(candidates) == 1 else None
        if company_id is None:
            return self.browse()
        return self.env["res.company"].sudo().browse(company_id)._sms_journey_twilio_gateway()

    @api.model
    @tools.ormcache()
    def _odoo_twilio_routes(self):
        """({E.164 Twilio number: company id}, {account SID: (company ids)}) of the
        companies sending through Odoo's Twilio; cleared when a company's provider or
        Twilio account changes (``res.company.write``) and with every change to a gateway
        or a Twilio number (``sms.cached.lookup.mixin``)."""
        companies = self.env["res.company"].sudo().search([("sms_provider", "=", "twilio")])
        numbers, accounts = {}, {}
        for company in companies:
            for twilio_number in company.sms_twilio_number_ids:
                e164 = phone_tools.try_normalize(twilio_number.number or "")
                numbers.setdefault(e164 or twilio_number.number, company.id)
            if company.sms_twilio_account_sid:
                accounts.setdefault(company.sms_twilio_account_sid, []).append(company.id)
        return numbers, {sid: tuple(ids) for sid, ids in accounts.items()}
