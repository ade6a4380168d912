import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.results import Figures

SMS_STATES = [
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("canceled", "Canceled"),
    ("held_out", "Held out"),
]
# figures summed from the view, by Figures attribute
SUMS = {
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "canceled": "canceled",
    "queued": "queued",
    "clicked": "clicked",
    "clicks": "click_count",
    "replied": "replied",
    "opted_out": "opted_out",
    "cost": "cost",
    "held_out": "held_out",
}

# One row per SMS of a journey step (held-out participants of a control group too:
# the SMS they did not get) or of an SMS mailing. Journey rows have even ids (trace id
# * 2), mailing rows odd ones (mailing trace id * 2 + 1).
RESULT_QUERY = """
SELECT s.*,
       (s.state IN ('sent', 'delivered', 'failed'))::int AS sent,
       (s.state = 'delivered')::int AS delivered,
       (s.state = 'failed')::int AS failed,
       (s.state = 'canceled')::int AS canceled,
       (s.state = 'queued')::int AS queued,
       (s.state = 'held_out')::int AS held_out
  FROM (
    SELECT t.id * 2 AS id,
           'journey'::varchar AS source,
           t.journey_id,
           t.step_id,
           t.variant_id,
           NULL::integer AS mailing_id,
           t.partner_id,
           j.company_id,
           COALESCE(t.sent_at, t.executed_at) AS date,
           CASE WHEN t.state = 'held_out' THEN 'held_out'
                WHEN t.state = 'skipped' OR t.sms_state = 'canceled' THEN 'canceled'
                WHEN t.sms_state IS NULL THEN 'sent'
                WHEN t.sms_state IN ('queued', 'sending', 'review') THEN 'queued'
                ELSE t.sms_state END::varchar AS state,
           CASE WHEN t.state = 'skipped' OR t.sms_state = 'canceled'
                THEN COALESCE(t.skip_reason, 'Canceled by the outbox')
                END::varchar AS cancel_reason,
           (t.clicked_at IS NOT NULL)::int AS clicked,
           COALESCE(t.click_count, 0) AS click_count,
           (t.replied_at IS NOT NULL)::int AS replied,
           (t.opted_out_at IS NOT NULL)::int AS opted_out,
           COALESCE(t.cost, 0.0)::numeric AS cost
      FROM sms_journey_trace t
      JOIN sms_journey j ON j.id = t.journey_id
     WHERE t.action IN ('sms', 'survey', 'appointment')
       AND (t.state IN ('sent', 'held_out') OR t.sms_uuid IS NOT NULL)
       AND %(journey_filter)s
    UNION ALL
    SELECT mt.id * 2 + 1,
           'mailing',
           NULL,
           NULL,
           NULL,
           mt.mass_mailing_id,
           CASE WHEN mt.model = 'res.partner' THEN mt.res_id END,
           COALESCE(m.company_id, u.company_id),
           COALESCE(m.sent_at, mt.create_date),
           CASE WHEN mt.trace_status IN ('outgoing', 'process') THEN 'queued'
                WHEN mt.trace_status = 'pending' THEN 'sent'
                WHEN mt.trace_status IN ('sent', 'open', 'reply') THEN 'delivered'
                WHEN mt.trace_status IN ('error', 'bounce') THEN 'failed'
                ELSE 'canceled' END,
           CASE WHEN mt.trace_status = 'cancel'
                THEN COALESCE(mt.failure_type, 'unknown') END,
           (mt.links_click_datetime IS NOT NULL)::int,
           COALESCE(mt.sms_click_count, 0),
           (mt.reply_datetime IS NOT NULL)::int,
           (mt.sms_opted_out_at IS NOT NULL)::int,
           COALESCE(m.cost, 0.0)::numeric
      FROM mailing_trace mt
      JOIN mailing_mailing mm ON mm.id = mt.mass_mailing_id
      LEFT JOIN res_users u ON u.id = mm.user_id
      LEFT JOIN LATERAL (
          SELECT g.company_id, g.sent_at, g.cost
            FROM sms_tracker tr
            JOIN sms_gateway_message g ON g.sms_uuid = tr.sms_uuid
           WHERE tr.mailing_trace_id = mt.id
           LIMIT 1
      ) m ON TRUE
     WHERE mt.trace_type = 'sms'
       AND %(mailing_filter)s
  ) s
"""


class SmsResult(models.Model):
    """One row per SMS of a program — a journey step's SMS (``sms.journey.trace``) or an
    SMS mailing's (``mailing.trace``) — with what became of it and how people answered,
    as 0/1 columns that sum in pivots and graphs, cut by journey, step, A/B variant or
    mailing. A participant of a journey's control group has a *held out* row for each
    SMS it did not get. Stored rows, kept by ``sms.result.snapshot`` from what changed
    since its last refresh (*as of* then).

    Orders and revenue are not here: they belong to orders (``sale.order``, attributed
    by ``tools/attribution.py``) and are summed there by journey, step, variant or
    mailing (``_figures``)."""

    _name = "sms.result"
    _inherit = ["sms.result.dimension.mixin"]
    _description = "SMS result"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "date"

    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Datetime("Sent on", readonly=True)
    state = fields.Selection(SMS_STATES, readonly=True)
    cancel_reason = fields.Char("Cancel reason", readonly=True)
    sent = fields.Integer(readonly=True)
    delivered = fields.Integer(readonly=True)
    failed = fields.Integer(readonly=True)
    canceled = fields.Integer(readonly=True)
    queued = fields.Integer(readonly=True)
    clicked = fields.Integer(readonly=True)
    click_count = fields.Integer("Clicks", readonly=True)
    replied = fields.Integer(readonly=True)
    opted_out = fields.Integer("Opted out", readonly=True)
    cost = fields.Monetary(readonly=True, currency_field="currency_id")
    held_out = fields.Integer(
        "Held out", readonly=True, help="An SMS a participant of the control group did not get."
    )

    def init(self):
        # the mailing rows of the results look their outbox row up by tracker
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS sms_tracker_mailing_trace_index"
                " ON sms_tracker (mailing_trace_id) WHERE mailing_trace_id IS NOT NULL"
            )
        )

    @api.model
    def _figures(self, field, ids):
        """{id: ``tools.results.Figures``} of the records ``ids`` of what ``field``
        names (``journey_id``, ``step_id``, ``variant_id``, ``mailing_id``): the SMS
        figures from the stored totals (as of the last refresh, a few indexed rows), the
        orders and revenue live from the orders attributed to them."""
        result = {res_id: Figures() for res_id in ids}
        if not ids:
            return result
        column = SQL.identifier(field)
        rows = self.env.execute_query(
            SQL(
                "SELECT %s, %s FROM sms_result_total WHERE %s = ANY(%s) GROUP BY %s",
                column,
                SQL(", ").join(SQL("SUM(%s)", SQL.identifier(c)) for c in SUMS.values()),
                column,
                list(ids),
                column,
            )
        )
        for res_id, *sums in rows:
            figures = result[res_id]
            for name, value in zip(SUMS, sums, strict=True):
                setattr(figures, name, value or 0)
        for res_id, count, revenue in self._order_figures(field, ids):
            result[res_id].orders = count
            result[res_id].revenue = revenue or 0.0
        return result

    @api.model
    def _order_figures(self, field, ids):
        """[(id, orders, revenue)] of the confirmed orders attributed to the records
        ``ids`` of ``field`` (indexed columns of ``sale_order``; a variant's through the
        attributed trace)."""
        Order = self.env["sale.order"].sudo()
        Order.flush_model(["state", "sms_attributed_revenue", *ORDER_FIELDS.values()])
        if field == "variant_id":
            self.env["sms.journey.trace"].flush_model(["variant_id"])
            return self.env.execute_query(
                SQL(
                    """SELECT t.variant_id, COUNT(*), SUM(o.sms_attributed_revenue)
                         FROM sale_order o
                         JOIN sms_journey_trace t ON t.id = o.sms_journey_trace_id
                        WHERE t.variant_id = ANY(%s) AND o.state = 'sale'
                     GROUP BY t.variant_id""",
                    list(ids),
                )
            )
        order_field = ORDER_FIELDS[field]
        return [
            (record.id, count, revenue)
            for record, count, revenue in Order._read_group(
                [(order_field, "in", list(ids)), ("state", "=", "sale")],
                [order_field],
                ["__count", "sms_attributed_revenue:sum"],
            )
        ]

    @api.model
    def _demo_history(self):
        """Demo data: two months of results (``_demo_history`` below)."""
        _demo_history(self.env)

    def action_open_records(self):
        """The journey traces and mailing traces behind these rows."""
        journey_ids = [r.id // 2 for r in self if r.source == "journey"]
        mailing_ids = [r.id // 2 for r in self if r.source == "mailing"]
        if mailing_ids and not journey_ids:
            return {
                "type": "ir.actions.act_window",
                "res_model": "mailing.trace",
                "view_mode": "list,form",
                "domain": [("id", "in", mailing_ids)],
            }
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey.sms_journey_trace_action"
        )
        action["domain"] = [("id", "in", journey_ids)]
        return action

    @api.model
    def action_refresh(self):
        """*Refresh* (list header): rebuild the results reports now."""
        return self.env["sms.result.snapshot"].action_refresh()


ORDER_FIELDS = {
    "journey_id": "sms_journey_id",
    "variant_id": "sms_journey_trace_id",
    "step_id": "sms_journey_step_id",
    "mailing_id": "sms_mailing_id",
}


def _demo_history(env, days=60, seed=42):
    """Demo data only: about two months of SMS of the reactivation journey and one SMS
    mailing, with clicks, replies, STOPs and attributed orders that fade with the hours
    after each send, so that the results, the campaign report and the dashboard show
    what a real program looks like. Reproducible (seeded)."""
    rng = random.Random(seed)
    now = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
    gateway = env.ref("sms_journey.sms_gateway_sandbox_demo")
    journey = env.ref("sms_journey.sms_journey_reactivation")
    step = env.ref("sms_journey.sms_journey_reactivation_step_coupon")
    product = env.ref("sms_journey.product_journey_demo_mug")
    link = env["link.tracker"].create(
        {"url": "https://shop.example.com/promo", "title": "Spring promo"}
    )
    partners = env["res.partner"].create(
        [
            {
                "name": f"Demo customer {i:02d}",
                "mobile": f"+39 333 900 {i:04d}",
                "tz": "Europe/Rome",
            }
            for i in range(1, 41)
        ]
    )
    clicks, replies, orders = [], [], []

    def reactions(sent_at, journey_trace=None, mailing_trace=None):
        # most people answer in the first hours; a few come back days later
        if rng.random() < 0.3:
            at = sent_at + timedelta(hours=min(rng.expovariate(1 / 3.0), 9 * 24))
            clicks.append((at, journey_trace, mailing_trace))
            if rng.random() < 0.4:
                orders.append(
                    (at + timedelta(hours=rng.uniform(0.2, 30)), at, journey_trace, mailing_trace)
                )
        if rng.random() < 0.1:
            at = sent_at + timedelta(hours=min(rng.expovariate(1 / 2.0), 9 * 24))
            replies.append((at, rng.random() < 0.2, journey_trace, mailing_trace))

    for day in range(days, 0, -1):
        for partner in rng.sample(partners, rng.randint(2, 6)):
            sent_at = now - timedelta(days=day, hours=rng.randint(0, 8))
            state = rng.choices(["delivered", "failed", "canceled"], [90, 5, 5])[0]
            participant = env["sms.journey.participant"].create(
                {
                    "journey_id": journey.id,
                    "partner_id": partner.id,
                    "key": f"demo-{day}-{partner.id}",
                    "state": "completed",
                    "enrolled_at": sent_at,
                }
            )
            uuid = f"demo-{day}-{partner.id}"
            outbox = env["sms.gateway.message"].create(
                {
                    "sms_uuid": uuid,
                    "gateway_id": gateway.id,
                    "partner_id": partner.id,
                    "number": partner.phone_sanitized,
                    "sms_kind": "marketing",
                    "state": state,
                    "sent_at": sent_at if state != "canceled" else False,
                    "delivered_at": sent_at + timedelta(seconds=20)
                    if state == "delivered"
                    else False,
                    "cost": 0.05 if state != "canceled" else 0.0,
                }
            )
            trace = env["sms.journey.trace"].create(
                {
                    "participant_id": participant.id,
                    "step_id": step.id,
                    "action": "sms",
                    "state": "skipped" if state == "canceled" else "sent",
                    "skip_reason": "No marketing consent" if state == "canceled" else False,
                    "executed_at": sent_at,
                    "sms_uuid": uuid,
                    "outbox_message_id": outbox.id,
                }
            )
            if state == "delivered":
                reactions(sent_at, journey_trace=trace)

    mailing = env["mailing.mailing"].create(
        {
            "name": "Spring sale",
            "subject": "Spring sale",
            "mailing_type": "sms",
            "body_plaintext": "Spring sale: -20% this week https://shop.example.com/promo",
            "mailing_model_id": env.ref("base.model_res_partner").id,
            "state": "done",
        }
    )
    mailing_sent_at = now - timedelta(days=12, hours=now.hour - 8)
    mailing_traces = env["mailing.trace"].create(
        [
            {
                "trace_type": "sms",
                "mass_mailing_id": mailing.id,
                "model": "res.partner",
                "res_id": partner.id,
                "sms_number": partner.phone_sanitized,
                "trace_status": "sent",
                "sent_datetime": mailing_sent_at,
            }
            for partner in partners
        ]
    )
    for trace in mailing_traces:
        reactions(mailing_sent_at, mailing_trace=trace)
    env.flush_all()
    env.cr.execute(
        "UPDATE mailing_trace SET create_date = %s WHERE id IN %s",
        (mailing_sent_at, tuple(mailing_traces.ids)),
    )

    for at, journey_trace, mailing_trace in clicks:
        click = env["link.tracker.click"].create(
            {
                "link_id": link.id,
                "sms_journey_trace_id": journey_trace and journey_trace.id,
                "mailing_trace_id": mailing_trace and mailing_trace.id,
            }
        )
        env.cr.execute(
            "UPDATE link_tracker_click SET create_date = %s WHERE id = %s", (at, click.id)
        )
        if journey_trace:
            journey_trace.write(
                {
                    "clicked_at": min(at, journey_trace.clicked_at or at),
                    "click_count": journey_trace.click_count + 1,
                }
            )
        else:
            mailing_trace.write(
                {
                    "links_click_datetime": max(at, mailing_trace.links_click_datetime or at),
                    "sms_click_count": mailing_trace.sms_click_count + 1,
                }
            )
    for at, stop, journey_trace, mailing_trace in replies:
        sms = journey_trace or mailing_trace
        env["sms.interaction"].create(
            {
                "number": sms.partner_id.phone_sanitized if journey_trace else sms.sms_number,
                # the demo customer who answered: no unknown sender in the conversations
                "partner_id": sms.partner_id.id if journey_trace else sms.res_id,
                "gateway_id": gateway.id,
                "body": "STOP" if stop else rng.choice(["Thanks!", "Is it still valid?", "OK"]),
                "received_at": at,
                "state": "handled",
                "consent_action": "opt_out" if stop else False,
                "sms_journey_trace_id": journey_trace and journey_trace.id,
                "mailing_trace_id": mailing_trace and mailing_trace.id,
            }
        )
        if journey_trace:
            journey_trace.write({"replied_at": at, "opted_out_at": at if stop else False})
        else:
            mailing_trace.write(
                {
                    "trace_status": "reply",
                    "reply_datetime": at,
                    "sms_opted_out_at": at if stop else False,
                }
            )
    for order_at, click_at, journey_trace, mailing_trace in orders:
        if order_at > now:
            continue
        sms = journey_trace or mailing_trace
        partner = (
            journey_trace.partner_id if journey_trace else env["res.partner"].browse(sms.res_id)
        )
        vals = {
            "partner_id": partner.id,
            "order_line": [
                (0, 0, {"product_id": product.id, "product_uom_qty": rng.randint(1, 4)})
            ],
            # attributed before confirming, so the confirmation leaves it as it is
            "sms_attribution_kind": "click",
            "sms_attribution_at": click_at,
        }
        if journey_trace:
            vals.update(
                sms_journey_trace_id=journey_trace.id,
                sms_journey_id=journey_trace.journey_id.id,
                sms_journey_step_id=journey_trace.step_id.id,
            )
        else:
            vals.update(sms_mailing_trace_id=mailing_trace.id, sms_mailing_id=mailing.id)
        order = env["sale.order"].create(vals)
        order.action_confirm()
        order.write({"date_order": order_at, "sms_attributed_revenue": order.amount_untaxed})
        if journey_trace:
            journey_trace.write({"converted": True, "order_id": order.id})
    env["sms.result.snapshot"]._refresh()
    env.invalidate_all()
