from odoo import api, models


class SmsCachedLookupMixin(models.AbstractModel):
    """Records that hot paths read through ``tools.ormcache`` lookups (gateways on every
    SMS sent, consent keywords on every SMS received): any change clears the cache."""

    _name = "sms.cached.lookup.mixin"
    _description = "SMS records read through cached lookups"

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
