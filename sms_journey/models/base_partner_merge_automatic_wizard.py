from odoo import models

from .res_partner import CONSENT_MERGE


class MergePartnerAutomatic(models.TransientModel):
    """Merging contacts keeps the destination's SMS consent as it is.

    Odoo's merge writes every field of the merged contacts onto the one kept: the consent
    fields, which only ``res.partner._sms_consent_set`` writes, are left out (the consent
    logs of the merged contacts move to the one kept with the other references)."""

    _inherit = "base.partner.merge.automatic.wizard"

    def _update_values(self, src_partners, dst_partner):
        token = CONSENT_MERGE.set(True)
        try:
            return super()._update_values(src_partners, dst_partner)
        finally:
            CONSENT_MERGE.reset(token)
