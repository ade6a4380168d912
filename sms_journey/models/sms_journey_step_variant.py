from odoo import api, fields, models

# What makes a variant win: the trace column that marks a success.
METRICS = [("click", "Click rate"), ("reply", "Reply rate"), ("order", "Order rate")]
METRIC_FIELDS = {"click": "clicked_at", "reply": "replied_at", "order": "converted"}


class SmsJourneyStepVariant(models.Model):
    """One text of an A/B test on an SMS step.

    Participants draw a variant by a seeded hash of their id (``tools/flow.py``), in
    proportion to the weights, until the step has a winner; from then on everybody gets
    the winner. ``sms.journey.step._decide_variant_winner`` picks it with a two-proportion
    z-test (``tools/stats.py``) once every variant reached the minimum sample or the
    test ran long enough; a user can also pick one.

    Its results (delivered, clicks, replies, orders, revenue, cost, ROAS, ROI) are those
    of ``sms.result.mixin``; ``sent_count`` stays the A/B test's own (live) count.
    """

    _name = "sms.journey.step.variant"
    _inherit = ["sms.result.mixin"]
    _description = "SMS Journey Step Variant"
    _sms_result_field = "variant_id"
    _order = "step_id, sequence, id"
    _check_company_auto = True

    step_id = fields.Many2one(
        "sms.journey.step", required=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="step_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, default="A")
    template_id = fields.Many2one(
        "sms.template", "SMS template", required=True, ondelete="restrict"
    )
    weight = fields.Integer(default=50, help="Share of the participants, relative to the others.")
    is_winner = fields.Boolean(compute="_compute_is_winner")
    sent_count = fields.Integer("Sent", compute="_compute_statistics")
    success_count = fields.Integer("Successes", compute="_compute_statistics")
    rate = fields.Float("Rate (%)", compute="_compute_statistics", digits=(5, 2))

    _sql_constraints = [
        ("weight_positive", "CHECK(weight >= 0)", "A variant's weight cannot be negative."),
    ]

    @api.depends("step_id.variant_winner_id")
    def _compute_is_winner(self):
        for variant in self:
            variant.is_winner = variant.step_id.variant_winner_id == variant

    def _compute_statistics(self):
        figures = self.step_id._variant_figures()
        for variant in self:
            sent, successes = figures.get(variant.step_id.id, {}).get(variant.id, (0, 0))
            variant.sent_count = sent
            variant.success_count = successes
            variant.rate = 100.0 * successes / sent if sent else 0.0

    def action_pick_winner(self):
        """Manual pick: later participants of the step get this variant."""
        self.ensure_one()
        self.step_id._set_variant_winner(
            self,
            self.env._("Picked by %(user)s.", user=self.env.user.name),
        )
        return True
