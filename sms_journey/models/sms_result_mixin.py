from odoo import api, fields, models
from odoo.tools.misc import formatLang

from ..tools.results import Figures, ratio_labels

# field on the record: attribute of tools.results.Figures
FIELDS = {
    "sent_count": "sent",
    "delivered_count": "delivered",
    "failed_count": "failed",
    "canceled_count": "canceled",
    "clicked_count": "clicked",
    "click_total": "clicks",
    "replied_count": "replied",
    "opted_out_count": "opted_out",
    "order_count": "orders",
    "revenue": "revenue",
    "cost": "cost",
    "roas": "roas",
    "roi": "roi",
}


class SmsResultMixin(models.AbstractModel):
    """The figures of an SMS program on its record — a journey, a journey step, an A/B
    variant or an SMS mailing — for all records at once, money in the company currency:
    the SMS figures from the stored totals of ``sms.result`` (as of their last refresh,
    ``sms.result.snapshot``), orders and revenue live from the attributed orders.

    A model using it says which ``sms.result`` column points at it
    (``_sms_result_field``)."""

    _name = "sms.result.mixin"
    _description = "Figures of an SMS program"
    _sms_result_field = None

    sent_count = fields.Integer("SMS sent", compute="_compute_sms_figures")
    delivered_count = fields.Integer("SMS delivered", compute="_compute_sms_figures")
    failed_count = fields.Integer("SMS failed", compute="_compute_sms_figures")
    canceled_count = fields.Integer(
        "SMS canceled", compute="_compute_sms_figures", help="SMS that never left: see the reasons."
    )
    clicked_count = fields.Integer(
        "SMS clicked", compute="_compute_sms_figures", help="SMS clicked at least once."
    )
    click_total = fields.Integer("SMS clicks", compute="_compute_sms_figures", help="Every click.")
    replied_count = fields.Integer("SMS replied", compute="_compute_sms_figures")
    opted_out_count = fields.Integer(
        "SMS opted out", compute="_compute_sms_figures", help="SMS answered by a STOP."
    )
    order_count = fields.Integer("SMS orders", compute="_compute_sms_figures")
    revenue = fields.Monetary(
        compute="_compute_sms_figures",
        currency_field="sms_currency_id",
        help="Untaxed amount of the attributed orders, in the company currency at each "
        "order's date.",
    )
    cost = fields.Monetary(compute="_compute_sms_figures", currency_field="sms_currency_id")
    roas = fields.Float(
        "ROAS (ratio)",
        compute="_compute_sms_figures",
        digits=(12, 2),
        help="Return on ad spend: revenue / cost.",
    )
    roi = fields.Float(
        "ROI (ratio)",
        compute="_compute_sms_figures",
        digits=(12, 2),
        help="Return on investment: (revenue - cost) / cost.",
    )
    # the ratios as a user reads them ("32×", "3,100 %", "—" without cost): the forms
    # and lists show these, the floats above stay for sorting, exports and the API
    roas_label = fields.Char(
        "ROAS",
        compute="_compute_ratio_labels",
        help='Return on ad spend: revenue / cost, as a multiple. "—" while nothing was spent.',
    )
    roi_label = fields.Char(
        "ROI",
        compute="_compute_ratio_labels",
        help='Return on investment: (revenue - cost) / cost, as a percentage. "—" '
        "while nothing was spent.",
    )
    sms_currency_id = fields.Many2one("res.currency", compute="_compute_sms_currency")
    sms_figures_as_of = fields.Datetime(
        "SMS figures as of",
        compute="_compute_sms_figures_as_of",
        help="The SMS figures (sent … opted out, cost) are those of the results' last "
        "refresh (every 15 minutes, or Refresh); orders and revenue count at once.",
    )

    def _compute_sms_figures_as_of(self):
        self.sms_figures_as_of = self.env["sms.result.snapshot"]._refreshed_at()

    def _compute_sms_currency(self):
        for record in self:
            company = record["company_id"] if "company_id" in record._fields else False
            record.sms_currency_id = (company or self.env.company).currency_id

    @api.depends_context("company")
    def _compute_sms_figures(self):
        figures = self.env["sms.result"]._figures(self._sms_result_field, self._origin.ids)
        # a model may compute one of these otherwise (a journey's opt-outs)
        names = [
            (field, name)
            for field, name in FIELDS.items()
            if self._fields[field].compute == "_compute_sms_figures"
        ]
        for record in self:
            row = figures.get(record._origin.id) or Figures()
            for field, name in names:
                record[field] = getattr(row, name) or 0

    @api.depends("revenue", "cost", "sms_currency_id")
    def _compute_ratio_labels(self):
        def number(value, digits):
            return formatLang(self.env, value, digits=digits)

        for record in self:
            # a cost the currency rounds to nothing is no spend to compare with
            # a new record has no currency yet: the company's rounds its cost
            currency = record.sms_currency_id or self.env.company.currency_id
            cost = 0.0 if currency.is_zero(record.cost) else record.cost
            record.roas_label, record.roi_label = ratio_labels(record.revenue, cost, number)

    def action_view_sms_results(self):
        """The SMS behind these figures, in the results report."""
        return self.env["sms.result.snapshot"]._open_report(
            "sms_journey.sms_result_action", [(self._sms_result_field, "in", self.ids)]
        )

    def action_view_sms_campaign_report(self):
        """Interactions hour by hour and day by day after the send."""
        return self.env["sms.result.snapshot"]._open_report(
            "sms_journey.sms_result_event_action", [(self._sms_result_field, "in", self.ids)]
        )

    def action_refresh_sms_figures(self):
        """*Refresh*: rebuild the stored results now (the form reloads)."""
        return self.env["sms.result.snapshot"].action_refresh()
