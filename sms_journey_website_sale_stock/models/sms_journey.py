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
    (Odoo's ``to_date``), for all of them at once, and both lists read in one query
    (bench/bench_back_in_stock.py, bench/README.md "Back in stock")."""

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
        back = self._back_in_stock([row[0] for row in rows], since) if rows else set()
        if not back:
            return []
        waiting = Request._waiting_partner_ids(sorted(back), self.company_id)
        result = []
        for product_id, moved_at, move_id in rows:
            if product_id not in back:
                continue
            key = f"{PRODUCT_MODEL},{product_id},back_in_stock:{move_id}"
            result.extend(
                self._product_candidate(partner_id, product_id, key, min(moved_at, until))
                for partner_id in waiting.get(product_id, ())
            )
        return result

    def _back_in_stock(self, product_ids, since):
        """The ids of ``product_ids`` with none on hand at ``since`` and some now, in
        the journey company's warehouses: Odoo's quantities on hand, each computed once
        for all the products (a product's ``qty_available`` alone is read per product,
        four grouped reads of the moves each)."""
        products = self.env[PRODUCT_MODEL].with_company(self.company_id).browse(product_ids)
        now = products._compute_quantities_dict(None, None, None)
        before = products._compute_quantities_dict(None, None, None, to_date=since)
        return {
            product_id
            for product_id in product_ids
            if before[product_id]["qty_available"] <= 0 < now[product_id]["qty_available"]
        }

    def _entered(self, participants, next_due, now):
        # after every INSERT of participants: a window's chunks and single enrolments
        res = super()._entered(participants, next_due, now)
        if participants and self.trigger == "back_in_stock":
            self.env["sms.back.in.stock.request"]._mark_notified(participants)
        return res
