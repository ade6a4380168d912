from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_unique_index


class SmsJourneyPrice(models.Model):
    """The price a price-drop journey last saw for a product and a pricelist: each run
    compares the prices of what changed with these (``sms.journey._price_scan``)."""

    _name = "sms.journey.price"
    _description = "Price seen by a price-drop journey"
    _log_access = False

    journey_id = fields.Many2one("sms.journey", required=True, ondelete="cascade", index=True)
    product_id = fields.Many2one("product.product", required=True, ondelete="cascade")
    pricelist_id = fields.Many2one("product.pricelist", ondelete="cascade")
    price = fields.Float(digits=(16, 6))

    def init(self):
        create_unique_index(
            self.env.cr,
            "sms_journey_price_key_uniq",
            self._table,
            ["journey_id", "product_id", "COALESCE(pricelist_id, 0)"],
        )

    @api.model
    def _seen(self, journey, product_ids):
        """{(product id, pricelist id or 0): price} last seen by ``journey``."""
        if not product_ids:
            return {}
        rows = self.env.execute_query(
            SQL(
                """SELECT product_id, COALESCE(pricelist_id, 0), price FROM sms_journey_price
                    WHERE journey_id = %s AND product_id = ANY(%s)""",
                journey.id,
                list(product_ids),
            )
        )
        return {(product_id, pricelist_id): price for product_id, pricelist_id, price in rows}

    @api.model
    def _watched_products(self, journey):
        rows = self.env.execute_query(
            SQL(
                "SELECT DISTINCT product_id FROM sms_journey_price WHERE journey_id = %s",
                journey.id,
            )
        )
        return {row[0] for row in rows}

    @api.model
    def _record(self, journey, prices):
        """Remember ``prices`` ({(product id, pricelist id or 0): price}) for ``journey``."""
        if not prices:
            return
        values = SQL(", ").join(
            SQL("(%s, %s, %s, %s)", journey.id, product_id, pricelist_id or None, price)
            for (product_id, pricelist_id), price in prices.items()
        )
        self.env.cr.execute(
            SQL(
                """INSERT INTO sms_journey_price (journey_id, product_id, pricelist_id, price)
                   VALUES %s
                   ON CONFLICT (journey_id, product_id, COALESCE(pricelist_id, 0))
                   DO UPDATE SET price = EXCLUDED.price""",
                values,
            )
        )
        self.invalidate_model()
