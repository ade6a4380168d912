from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL

from ..tools import behaviour
from ..tools.journey import Candidate

PRODUCT_MODEL = "product.product"


class SmsJourney(models.Model):
    """The behaviour triggers, read from the shop's page views (``website.track``, a
    contact is a visitor's ``partner_id``): *browse abandonment* (a product viewed and
    not added to a cart within ``browse_idle_hours``) and *price drop* (a product viewed
    in the last ``viewed_days`` whose price for the contact's pricelist fell by
    ``price_drop_percent``). Both enrol with the product as source record, so that the
    step's ``{{ product }}`` and a product landing page without a fixed product point to
    it. Both are incremental: browse abandonment reads the page views of its window
    only (``enrol_checked_at``, by the partial index on ``visit_datetime``), price drop
    the products and pricelist rules changed since the last run plus the page views
    after ``behaviour_track_id``, against the prices it last saw (``sms.journey.price``);
    the prices it scanned are recorded when the window closes, after its last chunk
    (``_window_scan``, ``_window_close``; the chunks: ``sms_journey_window.py``)."""

    _inherit = "sms.journey"

    browse_idle_hours = fields.Float(
        "Not added to a cart within (hours)",
        default=2.0,
        help="Browse abandonment: one SMS per product and contact for a view not followed "
        "by adding the product to a cart within this time; views of the same product "
        "within this time count as one.",
    )
    viewed_days = fields.Integer(
        "Viewed in the last (days)",
        default=30,
        help="Price drop: products the contact viewed on the shop in the last days.",
    )
    price_drop_percent = fields.Float(
        "Price drop of at least (%)",
        default=10.0,
        help="Price drop: the product's price for the contact's pricelist fell by at "
        "least this share since the journey last saw it.",
    )
    behaviour_track_id = fields.Integer(
        readonly=True, copy=False, help="Last page view whose product price was recorded."
    )

    # --- browse abandonment ---------------------------------------------------------

    def _candidates_browse_abandonment(self, since, until):
        """Identified contacts' first views of a product (no view of it in the idle time
        before) that fall idle in the window without a cart line of that product
        created since the view."""
        idle = timedelta(hours=self.browse_idle_hours or 0.0)
        self._flush_views()
        self.env["sale.order"].flush_model(["partner_id"])
        self.env["sale.order.line"].flush_model(["product_id", "order_id"])
        # a view is the first of its product when the contact's previous view of it
        # (LAG, in (time, id) order) is older than the idle time: that previous view
        # lies within the idle time before the window, so one range scan of the
        # window widened by it answers, instead of a lookup of each view's history
        rows = self.env.execute_query(
            SQL(
                """SELECT partner_id, product_id, visit_datetime, id FROM (
                        SELECT v.partner_id, t.product_id, t.visit_datetime, t.id,
                               LAG(t.visit_datetime) OVER (
                                   PARTITION BY v.partner_id, t.product_id
                                   ORDER BY t.visit_datetime, t.id) AS previous_at
                          FROM website_track t
                          JOIN website_visitor v ON v.id = t.visitor_id
                         WHERE t.product_id IS NOT NULL
                           AND v.partner_id IS NOT NULL
                           AND t.visit_datetime > %(start)s - %(idle)s
                           AND t.visit_datetime <= %(end)s) views
                    WHERE visit_datetime > %(start)s
                      AND (previous_at IS NULL OR previous_at < visit_datetime - %(idle)s)
                      AND NOT EXISTS (
                          SELECT 1 FROM sale_order_line l
                            JOIN sale_order so ON so.id = l.order_id
                           WHERE so.partner_id = views.partner_id
                             AND l.product_id = views.product_id
                             AND l.create_date >= views.visit_datetime)
                 ORDER BY visit_datetime, id""",
                start=since - idle,
                end=until - idle,
                idle=idle,
            )
        )
        products = self._shop_products({row[1] for row in rows})
        # positional: a day's window is tens of thousands of candidates
        return [
            Candidate(
                partner_id,
                f"{PRODUCT_MODEL},{product_id},{viewed_at.isoformat()}",
                max(viewed_at + idle, since),
                PRODUCT_MODEL,
                product_id,
            )
            for partner_id, product_id, viewed_at, _track_id in rows
            if product_id in products
        ]

    def _flush_views(self):
        self.env["website.track"].flush_model(["visitor_id", "product_id", "visit_datetime"])
        self.env["website.visitor"].flush_model(["partner_id"])

    def _product_candidate(self, partner_id, product_id, key, moment):
        return Candidate(partner_id, key, moment, PRODUCT_MODEL, product_id)

    def _shop_products(self, product_ids):
        """The ids of ``product_ids`` this journey's company may offer."""
        if not product_ids:
            return set()
        products = (
            self.env[PRODUCT_MODEL]
            .with_context(active_test=False)
            .search(
                [("id", "in", list(product_ids))]
                + self.env[PRODUCT_MODEL]._check_company_domain(self.company_id)
            )
        )
        return set(products.ids)

    # --- price drop -----------------------------------------------------------------

    def _candidates_price_drop(self, since, until):
        """Contacts who viewed, in the last ``viewed_days``, a product whose price for
        their pricelist fell by ``price_drop_percent`` since the journey last saw it.
        Read-only (the preview): the enrolment goes by ``_window_scan``."""
        rows = self._price_drop_rows(self._price_scan(since, until), until)
        return self._price_drop_candidates(rows, until)

    def _price_drop_candidates(self, rows, until):
        return [
            Candidate(
                partner_id,
                f"{PRODUCT_MODEL},{product_id},price:{price}",
                until,
                PRODUCT_MODEL,
                product_id,
            )
            for partner_id, product_id, price in rows
        ]

    def _price_drop_rows(self, scan, until):
        """[(partner id, product id, new price)] of the contacts who viewed a product of
        ``scan``'s drops in the last ``viewed_days`` at a price fallen for their
        pricelist, in (partner, product) order (the chunks' order)."""
        drops = scan.drops
        if not drops:
            return []
        rows = self.env.execute_query(
            SQL(
                """SELECT DISTINCT v.partner_id, t.product_id
                     FROM website_track t
                     JOIN website_visitor v ON v.id = t.visitor_id
                    WHERE t.product_id = ANY(%s) AND t.visit_datetime > %s
                      AND t.visit_datetime <= %s AND v.partner_id IS NOT NULL""",
                sorted({product_id for product_id, _pricelist in drops}),
                until - timedelta(days=max(self.viewed_days or 0, 0)),
                until,
            )
        )
        # a price that fell under every pricelist (the sales price changed) needs no
        # lookup of the viewers' pricelists (the slow part, by far)
        everywhere = behaviour.dropped_everywhere(scan.prices, drops)
        pricelists = self._partner_pricelists(
            {partner_id for partner_id, product_id in rows if product_id not in everywhere}
        )
        result = []
        for partner_id, product_id in sorted(rows):
            drop = everywhere.get(product_id)
            if drop is None:
                pricelist = pricelists.get(partner_id)
                drop = drops.get((product_id, pricelist.id if pricelist else 0))
            if drop:
                result.append((partner_id, product_id, drop.new))
        return result

    def _window_scan(self, since, until):
        """Price drop: the window's drops, its prices and last page view recorded when
        it closes (``_window_close``), so that a price changing while its contacts are
        enrolled in chunks is the next window's."""
        if self.trigger != "price_drop":
            return super()._window_scan(since, until)
        scan = self._price_scan(since, until)
        # the empty window (``_candidates``): still priced, nobody enrolled
        rows = self._price_drop_rows(scan, until) if until >= since else []
        candidates = self._filter_candidates(self._price_drop_candidates(rows, until))
        close = {
            "prices": [[*key, price] for key, price in scan.prices.items()],
            "last_track_id": scan.last_track_id or 0,
        }
        return candidates, close

    def _window_close(self, until, close):
        if self.trigger == "price_drop" and close:
            prices = {(product, pricelist): price for product, pricelist, price in close["prices"]}
            self.env["sms.journey.price"]._record(self, prices)
            self.behaviour_track_id = close["last_track_id"]
        return super()._window_close(until, close)

    def _partner_pricelists(self, partner_ids):
        if not partner_ids:
            return {}
        Pricelist = self.env["product.pricelist"].with_company(self.company_id)
        return Pricelist._get_partner_pricelist_multi(sorted(partner_ids))

    def _price_scan(self, since, until):
        """The prices of the products changed in ``(since, until]`` or viewed since the
        last run, per active pricelist of the company, compared with those last seen."""
        days = timedelta(days=max(self.viewed_days or 0, 0))
        self._flush_views()
        rows = self.env.execute_query(
            SQL(
                """SELECT product_id, MAX(id) FROM website_track
                    WHERE id > %s AND product_id IS NOT NULL
                      AND visit_datetime > %s AND visit_datetime <= %s
                 GROUP BY product_id""",
                self.behaviour_track_id or 0,
                until - days,
                until,
            )
        )
        last_track = max((row[1] for row in rows), default=self.behaviour_track_id)
        # newly viewed products get their first price; the others are priced again only
        # when they changed
        Price = self.env["sms.journey.price"]
        viewed = {row[0] for row in rows} - Price._watched_products(self)
        product_ids = self._shop_products(viewed | self._price_changed_products(since, until))
        prices = self._current_prices(sorted(product_ids))
        seen = Price._seen(self, sorted(product_ids))
        return behaviour.PriceScan(
            prices, behaviour.price_drops(seen, prices, self.price_drop_percent), last_track
        )

    def _price_changed_products(self, since, until):
        """Products whose price may have changed in ``(since, until]``: the product or
        its template written, a pricelist rule on it written, starting or ending (a
        rule on a category or on all products: every product the journey watches)."""
        for model in ("product.product", "product.template", "product.pricelist.item"):
            self.env[model].flush_model()
        window = {"since": since, "until": until}
        changed = {
            row[0]
            for row in self.env.execute_query(
                SQL(
                    """SELECT pp.id FROM product_product pp
                         JOIN product_template pt ON pt.id = pp.product_tmpl_id
                        WHERE (pp.write_date > %(since)s AND pp.write_date <= %(until)s)
                           OR (pt.write_date > %(since)s AND pt.write_date <= %(until)s)""",
                    **window,
                )
            )
        }
        items = self.env.execute_query(
            SQL(
                """SELECT i.applied_on, i.product_id, pp.id
                     FROM product_pricelist_item i
                LEFT JOIN product_product pp ON pp.product_tmpl_id = i.product_tmpl_id
                    WHERE (i.write_date > %(since)s AND i.write_date <= %(until)s)
                       OR (i.date_start > %(since)s AND i.date_start <= %(until)s)
                       OR (i.date_end > %(since)s AND i.date_end <= %(until)s)""",
                **window,
            )
        )
        if any(applied_on in ("3_global", "2_product_category") for applied_on, *_ids in items):
            changed |= self.env["sms.journey.price"]._watched_products(self)
        changed |= {variant or tmpl_variant for _on, variant, tmpl_variant in items}
        changed.discard(None)
        return changed

    def _current_prices(self, product_ids):
        """{(product id, pricelist id or 0): price} for each active pricelist of the
        company (none: the sales price)."""
        products = self.env[PRODUCT_MODEL].with_company(self.company_id).browse(product_ids)
        if not products:
            return {}
        Pricelist = self.env["product.pricelist"].with_company(self.company_id)
        pricelists = Pricelist.search(
            Pricelist._get_partner_pricelist_multi_search_domain_hook(self.company_id.id)
        )
        if not pricelists:
            return {(p.id, 0): p.lst_price for p in products}
        prices = {}
        for pricelist in pricelists:
            for product_id, price in pricelist._get_products_price(products, 1.0).items():
                prices[(product_id, pricelist.id)] = price
        return prices
