from odoo import api, models
from odoo.exceptions import ValidationError

from .sms_gateway import ODOO_TWILIO

#: writes that change where a company's SMS leave or who signs its Twilio webhooks
_TRANSPORT_FIELDS = frozenset(
    {"sms_provider", "sms_twilio_account_sid", "sms_twilio_auth_token", "sms_gateway_id"}
)


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies.filtered(lambda c: c.sms_provider == "twilio")._sms_journey_twilio_gateway()
        return companies

    def write(self, vals):
        result = super().write(vals)
        if _TRANSPORT_FIELDS.intersection(vals):
            # the webhooks' cached setups hold the account's token
            self.env.registry.clear_cache()
            self.filtered(lambda c: c.sms_provider == "twilio")._sms_journey_twilio_gateway()
        return result

    @api.constrains("sms_gateway_id")
    def _check_sms_gateway_not_odoo_twilio(self):
        for company in self:
            if company.sudo().sms_gateway_id.code == ODOO_TWILIO:
                raise ValidationError(
                    self.env._(
                        "Odoo's Twilio is chosen as the SMS transport, not as a gateway "
                        "(Settings → SMS Journeys → SMS transport)."
                    )
                )

    def _sms_journey_twilio_gateway(self):
        """The gateway on which replies to these companies' Twilio numbers are stored
        (``sms.gateway`` of code ``odoo_twilio``, one per company), created when missing."""
        gateways = self.env["sms.gateway"].sudo()
        for company in self:
            gateway = gateways.search(
                [("company_id", "=", company.id), ("code", "=", ODOO_TWILIO)], limit=1
            )
            if not gateway:
                gateway = gateways.create(
                    {
                        "name": self.env._("Odoo's Twilio (%(company)s)", company=company.name),
                        "code": ODOO_TWILIO,
                        "company_id": company.id,
                    }
                )
            gateways |= gateway
        return gateways
