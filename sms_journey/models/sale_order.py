from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import attribution

# an order that redeemed a journey SMS's coupon is credited to that SMS, windows aside
COUPON = "coupon"


class SaleOrder(models.Model):
    """Customer facts and journey attribution of orders.

    Keeps the customer facts of ``res.partner`` (see ``res_partner``) current when
    quotes, carts and orders are created, confirmed or cancelled.

    Attributes confirmed orders to the SMS that led to them, journey step or SMS
    mailing (``_sms_journey_attribute``, rule in ``tools/attribution.py``, windows in the
    company settings), and keeps on the order what it was attributed to and its revenue
    in the company currency. The confirmation also ends running participants whose
    journey exits on an order.
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
    sms_journey_step_id = fields.Many2one(
        "sms.journey.step", "SMS journey step", readonly=True, copy=False, index="btree_not_null"
    )
    sms_mailing_trace_id = fields.Many2one(
        "mailing.trace", "SMS mailing trace", readonly=True, copy=False, index="btree_not_null"
    )
    sms_mailing_id = fields.Many2one(
        "mailing.mailing",
        "SMS mailing",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The SMS mailing this order is attributed to.",
    )
    sms_attribution_kind = fields.Selection(
        [(attribution.CLICK, "Click"), (attribution.DELIVERY, "Delivery"), (COUPON, "Coupon")],
        "Attributed by",
        readonly=True,
        copy=False,
        help="Click: the customer clicked a link of the SMS within the click window. "
        "Delivery: the SMS was delivered within the delivery window (no click). "
        "Coupon: the order redeemed the single-use coupon of a journey SMS.",
    )
    sms_attribution_at = fields.Datetime("SMS touch at", readonly=True, copy=False)
    sms_attributed_revenue = fields.Monetary(
        "SMS revenue",
        currency_field="sms_company_currency_id",
        readonly=True,
        copy=False,
        help="Untaxed amount in the company currency, converted at the order date.",
    )
    sms_company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="SMS revenue currency"
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
        """Credit each confirmed order to the SMS that led to it (``tools/attribution``:
        the company's click and delivery windows, a click beats a delivery, the last
        touch wins across journeys and mailings), with its revenue in the company
        currency at the order's date."""
        for order in self.filtered(lambda o: not o.sms_attribution_kind):
            company = order.company_id or self.env.company
            windows = company._sms_attribution_windows()
            order_at = order.date_order or fields.Datetime.now()
            touch = attribution.attribute(order._sms_touches(order_at, windows), order_at, windows)
            if touch:
                order._sms_record_attribution(touch)

    def _sms_touches(self, order_at, windows):
        """Clicks and deliveries of the SMS sent to this order's customer (and the other
        contacts of its company) that may take the credit of an order at ``order_at``:
        journey traces by contact, SMS mailing traces by contact or by number."""
        self.ensure_one()
        self.env.flush_all()
        commercial = self.partner_id.commercial_partner_id
        partners = self.env["res.partner"].sudo().search([("id", "child_of", commercial.id)])
        numbers = [n for n in partners.mapped("phone_sanitized") if n]
        since = order_at - max(windows.click, windows.delivery)
        rows = self.env.execute_query(
            SQL(
                """
            SELECT 'click', c.create_date, 'sms.journey.trace', t.id
              FROM link_tracker_click c
              JOIN sms_journey_trace t ON t.id = c.sms_journey_trace_id
             WHERE t.partner_id = ANY(%(partners)s)
               AND c.create_date BETWEEN %(since)s AND %(until)s
            UNION ALL
            SELECT 'click', t.clicked_at, 'sms.journey.trace', t.id
              FROM sms_journey_trace t
             WHERE t.partner_id = ANY(%(partners)s) AND t.clicked_at BETWEEN %(since)s AND %(until)s
            UNION ALL
            SELECT 'delivery', COALESCE(m.delivered_at, m.sent_at, t.executed_at),
                   'sms.journey.trace', t.id
              FROM sms_journey_trace t
              LEFT JOIN sms_gateway_message m ON m.id = t.outbox_message_id
             WHERE t.partner_id = ANY(%(partners)s) AND t.state = 'sent'
               AND (m.id IS NULL OR m.state IN ('sent', 'delivered'))
               AND COALESCE(m.delivered_at, m.sent_at, t.executed_at)
                   BETWEEN %(since)s AND %(until)s
            UNION ALL
            SELECT 'click', c.create_date, 'mailing.trace', mt.id
              FROM link_tracker_click c
              JOIN mailing_trace mt ON mt.id = c.mailing_trace_id
             WHERE mt.trace_type = 'sms' AND c.create_date BETWEEN %(since)s AND %(until)s
               AND ((mt.model = 'res.partner' AND mt.res_id = ANY(%(partners)s))
                    OR mt.sms_number = ANY(%(numbers)s))
            UNION ALL
            SELECT 'delivery', COALESCE(mt.sent_datetime, mt.create_date), 'mailing.trace', mt.id
              FROM mailing_trace mt
             WHERE mt.trace_type = 'sms' AND mt.trace_status IN ('pending', 'sent', 'open', 'reply')
               AND COALESCE(mt.sent_datetime, mt.create_date) BETWEEN %(since)s AND %(until)s
               AND ((mt.model = 'res.partner' AND mt.res_id = ANY(%(partners)s))
                    OR mt.sms_number = ANY(%(numbers)s))
            """,
                partners=partners.ids,
                numbers=numbers,
                since=since,
                until=order_at,
            )
        )
        return [attribution.Touch(kind, at, (model, res_id)) for kind, at, model, res_id in rows]

    def _sms_record_attribution(self, touch):
        """Write on this order what ``touch`` (a ``tools/attribution.Touch``) credits it to."""
        self.ensure_one()
        model, res_id = touch.source
        company = self.company_id or self.env.company
        vals = {
            "sms_attribution_kind": touch.kind,
            "sms_attribution_at": touch.at,
            "sms_attributed_revenue": self.currency_id._convert(
                self.amount_untaxed, company.currency_id, company, self.date_order.date()
            ),
        }
        if model == "sms.journey.trace":
            trace = self.env[model].sudo().browse(res_id)
            vals.update(
                sms_journey_trace_id=trace.id,
                sms_journey_id=trace.journey_id.id,
                sms_journey_step_id=trace.step_id.id,
            )
            trace.write({"converted": True, "order_id": self.id})
            trace.participant_id.converted = True
        else:
            trace = self.env[model].sudo().browse(res_id)
            vals.update(sms_mailing_trace_id=trace.id, sms_mailing_id=trace.mass_mailing_id.id)
        self.sudo().write(vals)

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
        "(empty for a first order).",
    )
    sms_first_order = fields.Boolean(
        "First order",
        readonly=True,
        copy=False,
        help="At confirmation, the customer had no previous confirmed order.",
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
            days = (order.date_order.date() - before.date()).days if before else False
            threshold = order.company_id.sms_inactivity_days
            order.sudo().write(
                {
                    # empty for a first order: no gap, and none in the average
                    "sms_days_since_previous_order": days,
                    "sms_first_order": not before,
                    "sms_reactivation": bool(before and threshold and days >= threshold),
                }
            )

    def _sms_consent_checkout(self, consent, number):
        """The customer ticked the SMS consent checkbox at checkout (``consent``: a
        ``tools.consent.WebConsent``): kept on this order, and ``number`` (the phone
        typed) gets the double opt-in question; only its YES opts the customer in."""
        self.ensure_one()
        self.write({"sms_consent_given": True, "sms_consent_proof": consent.proof()})
        self.env["sms.consent.request"].sudo()._ask_from_web(
            "checkout", consent, number, partner=self.partner_id
        )

    # --- coupons handed out by journey SMS ---------------------------------------------

    sms_journey_coupon_id = fields.Many2one(
        "loyalty.card",
        "SMS journey coupon",
        readonly=True,
        copy=False,
        # a deleted coupon looks for its orders (ON DELETE SET NULL)
        index="btree_not_null",
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
            if trace:
                # credited like a touch (step, revenue in the company currency), so that
                # the order counts in the figures; the windows do not apply
                sent_at = trace.sent_at or trace.executed_at
                order._sms_record_attribution(
                    attribution.Touch(COUPON, sent_at, ("sms.journey.trace", trace.id))
                )
                order.sudo().sms_journey_coupon_id = card
            else:
                order.sudo().write(
                    {
                        "sms_journey_coupon_id": card.id,
                        "sms_journey_id": card.sms_journey_participant_id.journey_id.id,
                    }
                )
            card.sms_journey_participant_id.converted = True
