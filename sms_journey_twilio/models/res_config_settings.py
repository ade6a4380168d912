from odoo import api, fields, models

from .sms_gateway import ODOO_TWILIO

TRANSPORTS = [
    ("iap", "Odoo (IAP)"),
    ("twilio", "Odoo's Twilio"),
    ("gateway", "One of our gateways"),
]


class ResConfigSettings(models.TransientModel):
    """One choice of how a company's SMS leave, instead of two places (Odoo's
    ``sms_provider`` and our ``sms_gateway_id``) where one would silently override the
    other. Choosing IAP or Odoo's Twilio clears the gateway; choosing a gateway keeps
    Odoo's Twilio set up (its numbers still receive replies) and says so."""

    _inherit = "res.config.settings"

    sms_journey_transport = fields.Selection(
        TRANSPORTS,
        string="SMS transport",
        compute="_compute_sms_journey_transport",
        store=True,
        readonly=False,
        help="How this company's SMS leave: Odoo's IAP service, the Twilio account set up "
        "in Odoo (sms_twilio), or one of the gateways of SMS Journeys.",
    )
    sms_journey_twilio_bypassed = fields.Boolean(
        string="Odoo's Twilio bypassed",
        compute="_compute_sms_journey_twilio_bypassed",
        help="Odoo's Twilio is set up as the provider, but a gateway of ours sends.",
    )

    @api.depends("sms_gateway_id", "sms_provider")
    def _compute_sms_journey_transport(self):
        for settings in self:
            if settings.sms_gateway_id:
                settings.sms_journey_transport = "gateway"
            elif settings.sms_provider == "twilio":
                settings.sms_journey_transport = "twilio"
            else:
                settings.sms_journey_transport = "iap"

    @api.depends("sms_journey_transport", "sms_provider")
    def _compute_sms_journey_twilio_bypassed(self):
        for settings in self:
            settings.sms_journey_twilio_bypassed = (
                settings.sms_journey_transport == "gateway" and settings.sms_provider == "twilio"
            )

    @api.onchange("sms_journey_transport")
    def _onchange_sms_journey_transport(self):
        for settings in self:
            if settings.sms_journey_transport in ("iap", "twilio"):
                settings.sms_gateway_id = False
                settings.sms_provider = settings.sms_journey_transport

    def set_values(self):
        result = super().set_values()
        # what the form sent, whatever the order Odoo wrote the related fields in
        for settings in self:
            company = settings.company_id.sudo()
            transport = settings.sms_journey_transport
            if transport in ("iap", "twilio"):
                company.write({"sms_gateway_id": False, "sms_provider": transport})
            elif transport == "gateway" and settings.sms_gateway_id.code != ODOO_TWILIO:
                company.sms_gateway_id = settings.sms_gateway_id
        return result
