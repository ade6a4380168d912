"""res.company: the monthly budget for marketing SMS (``tools/cost_guard.py``): its
amount, the activity that tells the SMS managers at 80 %, and the release of the SMS it
held when it is raised."""

from odoo import fields, models
from odoo.tools import format_amount

from ..tools import cost_guard

SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_marketing_budget = fields.Monetary(
        "Monthly marketing SMS budget",
        currency_field="currency_id",
        groups=SMS_MANAGER,
        help="What the marketing SMS that leave in a month may cost. From 80 % the SMS "
        "managers get an activity; at 100 % marketing SMS wait until the next month or "
        "until the budget is raised; transactional and essential SMS still go. 0: no "
        "budget.",
    )
    sms_marketing_budget_warned_at = fields.Datetime(
        "Marketing budget warning sent at", groups=SMS_MANAGER, copy=False, readonly=True
    )

    def write(self, vals):
        result = super().write(vals)
        if "sms_marketing_budget" in vals:
            # a new amount: its 80 % is told again, and what the old one held may go
            self.sudo().sms_marketing_budget_warned_at = False
            self._sms_release_budget_holds()
        return result

    def _sms_month_bounds(self, now):
        self.ensure_one()
        return cost_guard.month_bounds(now, self.partner_id.tz or "UTC")

    def _sms_release_budget_holds(self):
        """The marketing SMS these companies' budgets held until the next month are due
        now: the dispatch asks the policy again, and holds those the budget still
        cannot pay for."""
        now = fields.Datetime.now()
        Outbox = self.env["sms.gateway.message"].sudo()
        held = Outbox.browse()
        for company in self:
            held |= Outbox.search(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "queued"),
                    ("sms_kind", "=", "marketing"),
                    # a budget hold lands at the start of the next month or later;
                    # other deferrals are hours or days away
                    ("due_at", ">=", company._sms_month_bounds(now)[1]),
                ]
            )
        if held:
            held.write({"due_at": now, "deferred_reason": False})
            held._trigger_dispatch()

    def _sms_marketing_budget_warn(self, budget):
        """Tell this company's SMS managers, with an activity on the company's contact,
        once a month, that its marketing budget (``cost_guard.MonthlyBudget``, as a
        dispatch spends it) reached 80 % or held an SMS."""
        self.ensure_one()
        if budget.state == cost_guard.OK and not budget.held:
            return
        company = self.sudo()
        now = fields.Datetime.now()
        start = company._sms_month_bounds(now)[0]
        warned_at = company.sms_marketing_budget_warned_at
        if warned_at and warned_at >= start:
            return
        company.sms_marketing_budget_warned_at = now
        managers = (
            self.env.ref(SMS_MANAGER)
            .sudo()
            .users.filtered(
                lambda user: user.active and not user.share and company in user.company_ids
            )
        )
        summary = self.env._("SMS marketing budget at 80 %")
        note = self.env._(
            "%(spent)s of the monthly marketing SMS budget of %(company)s (%(budget)s) is "
            "spent. At 100 %%, marketing SMS wait until the next month or until the budget "
            "is raised (Settings, SMS).",
            spent=format_amount(self.env, budget.spent, company.currency_id),
            company=company.name,
            budget=format_amount(self.env, budget.amount, company.currency_id),
        )
        for user in managers:
            company.partner_id.activity_schedule(
                "mail.mail_activity_data_todo", summary=summary, note=note, user_id=user.id
            )
