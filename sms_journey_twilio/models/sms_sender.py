from odoo import api, models

from .sms_gateway import ODOO_TWILIO


class SmsSender(models.AbstractModel):
    """Answers to a reply received on Odoo's Twilio (its anchor gateway, which never
    sends) go out as the company's SMS do: through ``sms.sms`` and the provider Odoo
    chooses for it, Odoo's Twilio for a company on ``sms_provider = 'twilio'``."""

    _inherit = "sms.sender"

    @api.model
    def _send(self, requests, gateway=None, company=None):
        if gateway and gateway.code == ODOO_TWILIO:
            company = company or gateway.company_id
            gateway = None
        return super()._send(requests, gateway=gateway, company=company)
