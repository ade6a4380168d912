from odoo import fields, models
from odoo.tools import SQL

PRODUCT_MODEL = "product.product"


class SmsJourney(models.Model):
    """*Back in stock*: the contacts waiting for a product enter when its quantity on
    hand crosses from ≤ 0 to > 0. Two lists of who waits: the shop's "notify me"
    (``stock_notification_partner_ids`` of website_sale_stock, kept as it behaves
    there) and the open ``sms.back.in.stock.request``\\ s of the journey's company
    (product page button, ``NOTIFY <code>`` by SMS), marked notified when the journey
    enrols their contact. Incremental: only the products with a stock move done in the
    window are looked at, their quantity at the window's start computed from the moves
    (Odoo's ``to_date``)."""

    _inherit = "sms.journey"

    trigger = fields.Selection(
        selection_add=[("back_in_stock", "Back in stock")],
        ondelete={"back_in_stock": "set default"},
    )

    def _trigger_candidates(self):
        return dict(super()._trigger_candidates(), back_in_stock=self._candidates_back_in_stock)

    def _candidates_back_in_stock(self, since, until):
        """One candidate per contact waiting for a product back in stock in the window,
        keyed by the product and the move that brought it back (the same key on both
        lists: a contact on both enters once)."""
        self.env["stock.move"].flush_model(["state", "date", "product_id", "company_id"])
        self.env[PRODUCT_MODEL].flush_model(["stock_notification_partner_ids"])
        Request = self.env["sms.back.in.stock.request"]
        Request.flush_model(["product_id", "company_id", "notified_at"])
        rows = self.env.execute_query(
            SQL(
                """SELECT m.product_id, MAX(m.date), MAX(m.id)
                     FROM stock_move m
                    WHERE m.state = 'done' AND m.date > %s AND m.date <= %s
                      AND m.company_id = %s
                      AND (EXISTS (SELECT 1 FROM stock_notification_product_partner_rel r
                                    WHERE r.product_product_id = m.product_id)
                           OR EXISTS (SELECT 1 FROM sms_back_in_stock_request q
                                       WHERE q.product_id = m.product_id
                                         AND q.company_id = m.company_id
                                         AND q.notified_at IS NULL))
                 GROUP BY m.product_id""",
                since,
                until,
                self.company_id.id,
            )
        )
        if not rows:
            return []
        Product = self.env[PRODUCT_MODEL].with_company(self.company_id)
        products = Product.browse([row[0] for row in rows])
        before = {p.id: p.qty_available for p in products.with_context(to_date=since)}
        requested = Request._open_partner_ids(products.ids, self.company_id)
        result = []
        for product_id, moved_at, move_id in rows:
            product = products.browse(product_id)
            if before[product_id] > 0 or product.qty_available <= 0:
                continue
            key = f"{PRODUCT_MODEL},{product_id},back_in_stock:{move_id}"
            partner_ids = set(product.stock_notification_partner_ids.ids)
            partner_ids.update(requested.get(product_id, ()))
            result.extend(
                self._product_candidate(partner_id, product_id, key, min(moved_at, until))
                for partner_id in sorted(partner_ids)
            )
        return result

    def _entered(self, participants, next_due, now):
        # after every INSERT of participants: a window's chunks and single enrolments
        res = super()._entered(participants, next_due, now)
        if participants and self.trigger == "back_in_stock":
            self.env["sms.back.in.stock.request"]._mark_notified(participants)
        return res
