from odoo import models


class SmsSms(models.Model):
    _inherit = "sms.sms"

    def _sms_journey_send_decided(self):
        """As Odoo's ``send``: each company's SMS through its own provider's API
        (``_split_by_api``: Odoo's Twilio for a company on it, else IAP)."""
        for sms_api, records in self._split_by_api():
            super(SmsSms, records.with_context(sms_api=sms_api))._sms_journey_send_decided()
        return None
