"""sms.sender: the cost guards the sending policy applies (``tools/cost_guard.py``): the
gateway's allowed destinations and the company's monthly marketing budget."""

import dataclasses

from odoo import api, models
from odoo.tools import SQL

from ..tools import cost_guard, policy


class SmsSender(models.AbstractModel):
    _inherit = "sms.sender"

    @api.model
    def _cost_guard_rules(self, rules, gateway, budget):
        """``rules`` (``policy.Rules``) with the allowed destinations of ``gateway`` (none:
        every country) and, with a ``budget``, the end of its month."""
        allowed = gateway._allowed_destinations() if gateway else frozenset()
        resets_at = budget.resets_at if budget else None
        if not allowed and not resets_at:
            return rules
        return dataclasses.replace(rules, allowed_countries=allowed, budget_resets_at=resets_at)

    @api.model
    def _marketing_budget(self, company, now):
        """The ``cost_guard.MonthlyBudget`` of ``company`` at ``now`` (its month in the
        company's time zone), or None without a budget (then no query). Spent: the cost
        of its marketing SMS that left this month and were not canceled since."""
        company = company.sudo()
        amount = company.sms_marketing_budget
        if amount <= 0:
            return None
        start, resets_at = cost_guard.month_bounds(now, company.partner_id.tz or "UTC")
        Outbox = self.env["sms.gateway.message"]
        Outbox.flush_model(["company_id", "sms_kind", "state", "sent_at", "cost"])
        [(spent,)] = self.env.execute_query(
            SQL(
                """SELECT COALESCE(SUM(cost), 0.0) FROM sms_gateway_message
                    WHERE company_id = %s AND sms_kind = 'marketing' AND state != 'canceled'
                      AND sent_at >= %s AND sent_at < %s""",
                company.id,
                start,
                resets_at,
            )
        )
        return cost_guard.MonthlyBudget(amount, float(spent), resets_at)

    @api.model
    def _count_marketing(self, item, decision, cap_times, budget):
        """A marketing SMS the policy did not cancel counts towards its contact's cap in
        this batch, and, when it leaves now, spends the budget for the next ones."""
        if item.partner:
            cap_times.setdefault(item.partner.id, []).append(decision.due_at)
        if budget is None:
            return
        if decision.action == policy.SEND:
            budget.spend(item.cost)
        elif policy.MARKETING_BUDGET in decision.deferred_by:
            budget.held += 1

    @api.model
    def _destination_not_allowed_text(self, e164):
        code = cost_guard.destination_country(e164)
        country = self.env["res.country"].search([("code", "=", code)], limit=1) if code else None
        return self.env._(
            "Destination not allowed by the gateway: %(country)s",
            country=(country.name if country else code) or self.env._("unknown country"),
        )
