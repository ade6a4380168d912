from odoo import models
from odoo.tools.sql import create_index


class WebsiteTrack(models.Model):
    """Product page views, read by the behaviour triggers (``sms_journey_behaviour.py``)
    by time window and by product over time."""

    _inherit = "website.track"

    def init(self):
        res = super().init()
        for name, columns in (
            ("website_track_product_visit_sms_index", ["visit_datetime"]),
            ("website_track_product_time_sms_index", ["product_id", "visit_datetime"]),
        ):
            create_index(self.env.cr, name, self._table, columns, where="product_id IS NOT NULL")
        return res
