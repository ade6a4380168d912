from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

# Longest attribution window looked at; a journey's own goal_days narrows it.
MAX_GOAL_DAYS = 365


class SaleOrder(models.Model):
    """Customer facts and journey attribution of orders.

    Keeps the customer facts of ``res.partner`` (see ``res_partner``) current when
    quotes, carts and orders are created, confirmed or cancelled.

    Attributes confirmed orders to the journey SMS that led to them: an order confirmed
    by a contact who clicked (or received) a journey SMS within that journey's goal
    window is credited to the trace; clicks win over deliveries. The confirmation also
    ends running participants whose journey exits on an order.
    """

    _inherit = "sale.order"

    sms_journey_trace_id = fields.Many2one(
        "sms.journey.trace", "SMS journey trace", readonly=True, copy=False, index="btree_not_null"
    )
    sms_journey_id = fields.Many2one(
        "sms.journey",
        "SMS journey",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The SMS journey this order is attributed to.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        # Imports may create confirmed orders directly; quotes and carts only need the
        # cheap stage update (carts of the public partner come by the thousand).
        orders.filtered(lambda o: o.state == "sale")._sms_refresh_partner_facts()
        orders.filtered(lambda o: o.state != "sale").partner_id._sms_mark_orientation()
        return orders

    def write(self, vals):
        if not vals.get("partner_id"):
            return super().write(vals)
        confirmed = self.filtered(lambda o: o.state == "sale")
        previous_partners = confirmed.partner_id
        res = super().write(vals)
        # A cart's customer becomes known at checkout.
        self.partner_id._sms_mark_orientation()
        if confirmed:
            # A confirmed order moved to another customer: both sides change.
            partners = (previous_partners | confirmed.partner_id)._sms_activity_partners()
            self.env["res.partner"]._sms_recompute_activity_facts(partners.ids)
        return res

    def _action_confirm(self):
        res = super()._action_confirm()
        self._sms_mark_reactivation()
        self._sms_refresh_partner_facts()
        self._sms_journey_attribute_coupon()
        self._sms_journey_attribute()
        self._sms_journey_exit()
        return res

    def _action_cancel(self):
        res = super()._action_cancel()
        self._sms_refresh_partner_facts()
        return res

    def _sms_refresh_partner_facts(self):
        """Recompute the facts of these orders' customers and their commercial partners,
        in one statement for the whole batch."""
        partners = self.partner_id._sms_activity_partners()
        if partners:
            self.env["res.partner"]._sms_recompute_activity_facts(partners.ids)

    def _sms_journey_attribute(self):
        now = fields.Datetime.now()
        Trace = self.env["sms.journey.trace"].sudo()
        for order in self.filtered(lambda o: not o.sms_journey_trace_id):
            partner = order.partner_id.commercial_partner_id
            traces = Trace.search(
                [
                    ("partner_id", "child_of", partner.id),
                    ("state", "=", "sent"),
                    ("executed_at", ">=", now - timedelta(days=MAX_GOAL_DAYS)),
                ],
                order="id desc",
                limit=50,
            )
            best, best_rank = None, None
            for trace in traces:
                window = timedelta(days=trace.journey_id.goal_days or 0)
                reached = trace.delivered_at or trace.sent_at
                if trace.clicked_at and trace.clicked_at >= now - window:
                    rank = (1, trace.clicked_at)
                elif reached and reached >= now - window:
                    rank = (0, reached)
                else:
                    continue
                if best_rank is None or rank > best_rank:
                    best, best_rank = trace, rank
            if best:
                order.sudo().write(
                    {"sms_journey_trace_id": best.id, "sms_journey_id": best.journey_id.id}
                )
                best.write({"converted": True, "order_id": order.id})
                best.participant_id.converted = True

    def _sms_journey_exit(self):
        Participant = self.env["sms.journey.participant"].sudo()
        partners = self.partner_id.commercial_partner_id
        running = Participant.search(
            [
                ("state", "=", "running"),
                ("partner_id", "child_of", partners.ids),
            ]
        )
        for participant in running:
            journey = participant.journey_id
            is_source = participant.source_model == "sale.order" and (
                participant.source_res_id in self.ids
            )
            if journey.trigger == "abandoned_cart" and is_source:
                participant._exit(participant._exit_label("ordered"))
            elif journey.exit_on_order and not is_source and journey.trigger != "order_confirmed":
                participant._exit(participant._exit_label("ordered"))

    # --- consent and inactivity carried by the order ---------------------------------

    sms_consent_given = fields.Boolean(
        "SMS consent given",
        readonly=True,
        copy=False,
        help="The customer ticked the SMS consent checkbox with this order (checkout).",
    )
    sms_consent_proof = fields.Text("SMS consent proof", readonly=True, copy=False)
    sms_days_since_previous_order = fields.Integer(
        "Days since previous order",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="At confirmation: days since the customer's previous confirmed order "
        "(0 for a first order).",
    )
    sms_reactivation = fields.Boolean(
        "Reactivation",
        readonly=True,
        copy=False,
        help="At confirmation, the gap since the customer's previous order reached the "
        "company's inactivity threshold: an inactive customer came back.",
    )

    def _sms_mark_reactivation(self):
        """Store, at confirmation, the days since each customer's previous confirmed
        order (of the same commercial partner) and whether that gap crossed the
        company's inactivity threshold. One query for the batch."""
        if not self:
            return
        self.flush_model(["state", "date_order", "partner_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT o.id, (
                    SELECT MAX(prev.date_order)
                      FROM sale_order prev
                      JOIN res_partner prev_partner ON prev_partner.id = prev.partner_id
                     WHERE prev_partner.commercial_partner_id = partner.commercial_partner_id
                       AND prev.state = 'sale'
                       AND prev.id != o.id
                       AND prev.date_order < o.date_order
                )
                  FROM sale_order o
                  JOIN res_partner partner ON partner.id = o.partner_id
                 WHERE o.id IN %s
                """,
                tuple(self.ids),
            )
        )
        previous = dict(self.env.cr.fetchall())
        for order in self:
            before = previous.get(order.id)
            days = (order.date_order.date() - before.date()).days if before else 0
            threshold = order.company_id.sms_inactivity_days
            order.sudo().write(
                {
                    "sms_days_since_previous_order": days,
                    "sms_reactivation": bool(before and threshold and days >= threshold),
                }
            )

    def _sms_consent_checkout(self, consent):
        """The customer ticked the SMS consent checkbox at checkout: record it on the
        customer (``consent``: a ``tools.consent.WebConsent``) and on this order."""
        self.ensure_one()
        proof = self.partner_id._sms_consent_capture("checkout", consent)
        self.write({"sms_consent_given": True, "sms_consent_proof": proof})

    # --- coupons handed out by journey SMS ---------------------------------------------

    sms_journey_coupon_id = fields.Many2one(
        "loyalty.card",
        "SMS journey coupon",
        readonly=True,
        copy=False,
        help="The journey coupon redeemed on this order, which attributes it to its step.",
    )

    def _sms_journey_attribute_coupon(self):
        """An order that redeemed a journey coupon is attributed to the journey and the
        step that sent it, whatever the goal window: the code proves the SMS led to it.
        Loyalty itself refuses expired or used codes, so only a valid redemption counts."""
        Trace = self.env["sms.journey.trace"].sudo()
        for order in self.filtered(lambda o: not o.sms_journey_trace_id):
            card = order.order_line.coupon_id.filtered("sms_journey_participant_id")[:1]
            if not card:
                continue
            trace = Trace.search(
                [
                    ("participant_id", "=", card.sms_journey_participant_id.id),
                    ("step_id", "=", card.sms_journey_step_id.id),
                ],
                order="id desc",
                limit=1,
            )
            order.sudo().write(
                {
                    "sms_journey_coupon_id": card.id,
                    "sms_journey_trace_id": trace.id,
                    "sms_journey_id": card.sms_journey_participant_id.journey_id.id,
                }
            )
            if trace:
                trace.write({"converted": True, "order_id": order.id})
            card.sms_journey_participant_id.converted = True
