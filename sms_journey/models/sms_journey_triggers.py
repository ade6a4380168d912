import logging
from datetime import datetime, time, timedelta

from odoo import fields, models
from odoo.tools import SQL

from ..tools import journey as journey_tools
from ..tools import schedule
from ..tools.journey import Candidate
from .sms_journey_participant import partner_tz

_logger = logging.getLogger(__name__)


class SmsJourney(models.Model):
    """The triggers: one read-only method per trigger returns the
    ``journey.Candidate``s whose moment lies in a window ``(since, until]``
    (``_trigger_candidates`` lists them). The enrolment cron and the preview ask them."""

    _inherit = "sms.journey"

    def _candidates_abandoned_cart(self, since, until):
        """Website carts idle for ``cart_idle_hours`` (and at most ``cart_max_age_hours``)
        whose idle moment falls in the window, never enrolled yet."""
        idle = timedelta(hours=self.cart_idle_hours or 1.0)
        # carts idle for longer than the max age by the time they would get their SMS are
        # left alone (the SMS goes out at the latest now, earlier carts are late already)
        send_time = min(until, fields.Datetime.now())
        oldest = send_time - idle - timedelta(hours=max(self.cart_max_age_hours or 48.0, 0))
        self.env["sale.order"].flush_model()
        self.env["sms.journey.participant"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """SELECT so.id, so.partner_id, so.date_order
                     FROM sale_order so
                     JOIN website w ON w.id = so.website_id
                     JOIN res_users u ON u.id = w.user_id
                    WHERE so.state = 'draft'
                      AND so.company_id = %(company)s
                      AND so.partner_id != u.partner_id
                      AND so.date_order > %(oldest)s
                      AND so.date_order <= %(until)s
                      AND EXISTS (SELECT 1 FROM sale_order_line l WHERE l.order_id = so.id)
                      AND NOT EXISTS (
                          SELECT 1 FROM sms_journey_participant p
                           WHERE p.journey_id = %(journey)s AND p.source_model = 'sale.order'
                             AND p.source_res_id = so.id)
                 ORDER BY so.date_order""",
                company=self.company_id.id,
                oldest=oldest,
                until=until - idle,
                journey=self.id,
            )
        )
        return [
            Candidate(
                partner_id,
                f"sale.order,{order_id}",
                max(date_order + idle, since),
                source_model="sale.order",
                source_res_id=order_id,
            )
            for order_id, partner_id, date_order in rows
        ]

    def _candidates_birthday(self, since, until):
        Partner = self.env["res.partner"]
        days = journey_tools.days_between(since - timedelta(days=2), until + timedelta(days=1))
        partner_ids = set()
        for day in days:
            partner_ids.update(Partner._sms_birthday_ids(day))
        result = []
        for partner in Partner.browse(sorted(partner_ids)):
            tz = partner_tz(partner)
            for moment in journey_tools.yearly_occurrences(
                partner.birthdate_date, since, until, self.send_hour, tz
            ):
                result.append(Candidate(partner.id, str(moment.year), moment))
        return result

    def _partners_by_month_day(self, column, day, table="res_partner"):
        Partner = self.env["res.partner"]
        if table == "res_partner":
            try:
                return list(Partner._sms_anniversary_ids(day, column))
            except ValueError:
                _logger.debug("no indexed month/day lookup for %s: plain SQL", column)
        Partner.flush_model([column])
        pairs = schedule.month_days_celebrated_on(day)
        conditions = SQL(" OR ").join(
            SQL(
                "(EXTRACT(MONTH FROM %s) = %s AND EXTRACT(DAY FROM %s) = %s)",
                SQL.identifier(column),
                month,
                SQL.identifier(column),
                mday,
            )
            for month, mday in pairs
        )
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM %s WHERE %s IS NOT NULL AND active AND (%s)",
                SQL.identifier(table),
                SQL.identifier(column),
                conditions,
            )
        )
        return [row[0] for row in rows]

    def _candidates_anniversary(self, since, until):
        Partner = self.env["res.partner"]
        field = self.anniversary_field_id
        days = journey_tools.days_between(since - timedelta(days=2), until + timedelta(days=1))
        origins = {}
        if field and field.name in Partner._fields and Partner._fields[field.name].store:
            ids = set()
            for day in days:
                ids.update(self._partners_by_month_day(field.name, day))
            for partner in Partner.browse(sorted(ids)):
                origins[partner] = partner[field.name]
        else:
            origins = self._first_order_dates(days)
        result = []
        for partner, origin in origins.items():
            if not origin:
                continue
            tz = partner_tz(partner)
            for moment in journey_tools.yearly_occurrences(
                origin, since, until, self.send_hour, tz, min_years=1
            ):
                result.append(Candidate(partner.id, str(moment.year), moment))
        return result

    def _first_order_dates(self, days):
        """Partners whose first confirmed order was on the month/day of ``days``."""
        Partner = self.env["res.partner"]
        ids = set()
        for day in days:
            ids.update(self._partners_by_month_day("first_order_date", day))
        return {p: p.first_order_date for p in Partner.browse(sorted(ids))}

    def _candidates_inactivity(self, since, until):
        """Contacts whose inactivity crosses ``inactivity_days`` within the window."""
        threshold = timedelta(days=self.inactivity_days or 0)
        since_date = (since - threshold).date()
        until_date = (until - threshold).date()
        if until_date <= since_date:
            return []
        Partner = self.env["res.partner"]
        partners = Partner.browse(Partner._sms_inactive_crossing_ids(since_date, until_date))
        dates = {p.id: p.last_activity_date for p in partners}
        result = []
        for pid, last in dates.items():
            if not last:
                continue
            last_day = last.date() if isinstance(last, datetime) else last
            moment = max(datetime.combine(last_day, time()) + threshold, since)
            result.append(Candidate(pid, f"inactive:{last_day.isoformat()}", moment))
        return result

    def _candidates_due_to_reorder(self, since, until):
        """Contacts whose predicted next order day (``sms_next_order_predicted``, their
        rhythm) falls in the window with no order since their last one; incremental: a
        range scan of that day, never a rescan of every contact. They enter at the
        start of the day (UTC); the sending policy places the SMS in legal hours."""
        since_day, until_day = since.date(), until.date()
        if until_day <= since_day:
            return []
        Partner = self.env["res.partner"]
        Partner.flush_model(["sms_next_order_predicted", "last_order_date", "company_id", "active"])
        rows = self.env.execute_query(
            SQL(
                """SELECT id, sms_next_order_predicted
                     FROM res_partner
                    WHERE sms_next_order_predicted > %(since)s
                      AND sms_next_order_predicted <= %(until)s
                      AND (last_order_date IS NULL
                           OR last_order_date < sms_next_order_predicted)
                      AND active
                      AND (company_id IS NULL OR company_id = %(company)s)
                 ORDER BY sms_next_order_predicted, id""",
                since=since_day,
                until=until_day,
                company=self.company_id.id,
            )
        )
        return [
            Candidate(pid, f"reorder:{day.isoformat()}", datetime.combine(day, time()))
            for pid, day in rows
        ]

    def _candidates_order_confirmed(self, since, until):
        orders = self.env["sale.order"].search(
            [
                ("state", "=", "sale"),
                ("company_id", "=", self.company_id.id),
                ("date_order", ">", since),
                ("date_order", "<=", until),
            ],
            order="date_order",
        )
        return [self._order_candidate(order, order.date_order) for order in orders]

    def _order_candidate(self, order, moment):
        return Candidate(
            order.partner_id.id,
            f"sale.order,{order.id}",
            moment,
            source_model="sale.order",
            source_res_id=order.id,
        )

    def _candidates_order_delivered(self, since, until):
        """Orders fully delivered in the window: pickings done when stock is installed,
        else orders whose lines are all delivered (manual delivered quantities)."""
        if "stock.picking" in self.env:
            pickings = self.env["stock.picking"].search(
                [
                    ("state", "=", "done"),
                    ("picking_type_code", "=", "outgoing"),
                    ("date_done", ">", since),
                    ("date_done", "<=", until),
                    ("sale_id", "!=", False),
                    ("company_id", "=", self.company_id.id),
                ]
            )
            return [self._order_candidate(p.sale_id, p.date_done) for p in pickings]
        orders = self.env["sale.order"].search(
            [
                ("state", "=", "sale"),
                ("company_id", "=", self.company_id.id),
                ("write_date", ">", since),
                ("write_date", "<=", until),
                ("order_line.qty_delivered", ">", 0),
            ]
        )
        result = []
        for order in orders:
            lines = order.order_line.filtered(lambda line: not line.display_type)
            if lines and all(line.qty_delivered >= line.product_uom_qty for line in lines):
                result.append(self._order_candidate(order, order.write_date))
        return result

    def _candidates_invoice_overdue(self, since, until):
        """Posted customer invoices unpaid ``overdue_days`` after their due date."""
        delay = timedelta(days=self.overdue_days or 0)
        moves = self.env["account.move"].search(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("company_id", "=", self.company_id.id),
                ("invoice_date_due", ">=", (since - delay - timedelta(days=2)).date()),
                ("invoice_date_due", "<=", (until - delay).date()),
            ],
            order="invoice_date_due",
        )
        result = []
        for move in moves:
            # overdue by ``overdue_days`` at midnight after the due date plus the delay
            moment = datetime.combine(move.invoice_date_due, time()) + delay + timedelta(days=1)
            if since < moment <= until:
                result.append(
                    Candidate(
                        move.partner_id.id,
                        f"account.move,{move.id}",
                        moment,
                        source_model="account.move",
                        source_res_id=move.id,
                    )
                )
        return result
