from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import create_index

# (product, time) then the visitor in the index itself: the price drop's viewers of the
# dropped products (hundreds of thousands of views) are read without the table
VIEWER_INDEX = "website_track_product_viewer_sms_index"
# the index it replaces (without the visitor)
FORMER_VIEWER_INDEX = "website_track_product_time_sms_index"


class WebsiteTrack(models.Model):
    """Product page views, read by the behaviour triggers (``sms_journey_behaviour.py``)
    by time window and by product over time."""

    _inherit = "website.track"

    def init(self):
        res = super().init()
        cr = self.env.cr
        create_index(
            cr,
            "website_track_product_visit_sms_index",
            self._table,
            ["visit_datetime"],
            where="product_id IS NOT NULL",
        )
        cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS %s ON %s (product_id, visit_datetime)
                   INCLUDE (visitor_id) WHERE product_id IS NOT NULL""",
                SQL.identifier(VIEWER_INDEX),
                SQL.identifier(self._table),
            )
        )
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(FORMER_VIEWER_INDEX)))
        return res
