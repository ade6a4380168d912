from odoo import api, models
from odoo.exceptions import ValidationError
from odoo.tools import formatLang

from ..tools import sms_limits


class SmsGateway(models.Model):
    """How long an SMS may be on the company's gateway (``tools/sms_limits.py``): the
    check every place a person types an SMS asks before anything is queued, so that a
    JSON-RPC client is refused as the web client is."""

    _inherit = "sms.gateway"

    @api.model
    def _sms_length_refusal(self, text, company=None):
        """Why ``text`` is too long for ``company``'s gateway (the current company's by
        default), translated, or False."""
        gateway = self._get_company_gateway(company)
        refusal = sms_limits.check_length(text, gateway.code if gateway else None)
        if not refusal:
            return False
        return self.env._(
            "This SMS has %(length)s characters: %(provider)s accepts at most %(limit)s. "
            "Shorten the text.",
            length=formatLang(self.env, refusal.length, digits=0),
            provider=refusal.provider,
            limit=formatLang(self.env, refusal.limit, digits=0),
        )

    @api.model
    def _check_sms_length(self, text, company=None):
        """Raise a ValidationError (a UserError) with the reason when ``text`` is too long
        for ``company``'s gateway."""
        reason = self._sms_length_refusal(text, company)
        if reason:
            raise ValidationError(reason)
