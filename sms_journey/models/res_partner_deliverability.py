"""res.partner: a number suppressed for marketing after repeated permanent delivery
failures (``tools/deliverability.py``), set by the delivery reports and lifted by an SMS
manager.

Only the system sets the suppression (the delivery reports, under ``sudo``); a user's
write of these fields is refused, whatever the client sends. The policy
(``sms.sender._decide``) refuses marketing SMS to the suppressed number
(``undeliverable``); transactional and essential SMS still go."""

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools import deliverability

SUPPRESSION_FIELDS = frozenset(
    {"sms_suppressed_number", "sms_suppressed_reason", "sms_suppressed_at"}
)
# what only the system writes (the lift's date as well: failures before it no longer count)
PROTECTED_FIELDS = SUPPRESSION_FIELDS | {"sms_suppression_lifted_at"}
SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class ResPartner(models.Model):
    _inherit = "res.partner"

    sms_suppressed_number = fields.Char(
        "Suppressed number",
        readonly=True,
        copy=False,
        help="Marketing SMS are not sent to this number: its deliveries failed "
        "permanently several times in a row. An SMS manager can lift it.",
    )
    sms_suppressed_reason = fields.Char("Suppression reason", readonly=True, copy=False)
    sms_suppressed_at = fields.Datetime("Suppressed on", readonly=True, copy=False)
    sms_suppression_lifted_at = fields.Datetime(
        "Suppression lifted on",
        readonly=True,
        copy=False,
        help="Failures before this instant no longer count towards a new suppression.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(PROTECTED_FIELDS & vals.keys() for vals in vals_list):
            raise AccessError(self.env._("Only the system suppresses a number for SMS."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and PROTECTED_FIELDS & vals.keys():
            raise AccessError(self.env._("Only the system suppresses a number for SMS."))
        return super().write(vals)

    @api.model
    def _sms_failure_history(self, partner_ids, limit):
        """{(partner id, number): [(state, permanent failure)]}: the last ``limit``
        delivered or permanently failed SMS of each number of these contacts, newest
        first, since a manager last lifted its suppression."""
        rows = self.env.execute_query(
            SQL(
                """SELECT partner_id, number, state, permanent_failure
                     FROM (SELECT m.partner_id, m.number, m.state, m.permanent_failure,
                                  row_number() OVER (PARTITION BY m.partner_id, m.number
                                                     ORDER BY m.id DESC) AS rank
                             FROM sms_gateway_message m
                             JOIN res_partner p ON p.id = m.partner_id
                            WHERE m.partner_id IN %s AND m.state IN ('delivered', 'failed')
                              AND (m.state = 'delivered' OR m.permanent_failure)
                              AND (p.sms_suppression_lifted_at IS NULL
                                   OR coalesce(m.sent_at, m.first_attempt_at, m.create_date)
                                      >= p.sms_suppression_lifted_at)) AS history
                    WHERE rank <= %s
                    ORDER BY partner_id, number, rank""",
                tuple(partner_ids),
                limit,
            )
        )
        history = {}
        for partner_id, number, state, permanent in rows:
            history.setdefault((partner_id, number), []).append((state, permanent))
        return history

    @api.model
    def _sms_suppress_dead_numbers(self, messages):
        """Suppress for marketing the numbers of the contacts of ``messages`` (outbox rows
        that just failed permanently) whose last permanent failures in a row reach their
        company's threshold. One query for the batch's history."""
        messages = messages.filtered("partner_id")
        if not messages:
            return
        self.env["sms.gateway.message"].flush_model()
        self.flush_model(["sms_suppression_lifted_at"])
        limit = max(messages.company_id.mapped("sms_suppress_after_failures") or [0]) or 1
        history = self._sms_failure_history(messages.partner_id.ids, limit)
        last = {(m.partner_id.id, m.number): m for m in messages.sorted("id")}
        for (partner_id, number), message in last.items():
            partner = message.partner_id
            threshold = message.company_id.sms_suppress_after_failures
            outcomes = history.get((partner_id, number), [])
            if partner.sms_suppressed_number == number or not deliverability.suppressed(
                outcomes, threshold
            ):
                continue
            reason = self.env._(
                "%(count)s permanent delivery failures in a row (last: %(error)s)",
                count=deliverability.permanent_failures_in_a_row(outcomes),
                error=message.failure_reason or message.provider_error_code or "",
            )
            partner.sudo().write(
                {
                    "sms_suppressed_number": number,
                    "sms_suppressed_reason": reason,
                    "sms_suppressed_at": fields.Datetime.now(),
                }
            )
            partner.sudo().message_post(
                body=self.env._(
                    "Number %(number)s suppressed for marketing SMS: %(reason)s",
                    number=number,
                    reason=reason,
                ),
                message_type="notification",
            )

    def action_sms_lift_suppression(self):
        """Lift the marketing suppression of these contacts' numbers (SMS managers);
        the chatter says who lifted it."""
        if not self.env.user.has_group(SMS_MANAGER):
            raise AccessError(self.env._("Only an SMS manager can lift an SMS suppression."))
        for partner in self.filtered("sms_suppressed_number"):
            number = partner.sms_suppressed_number
            partner.sudo().write(
                {
                    **dict.fromkeys(SUPPRESSION_FIELDS, False),
                    "sms_suppression_lifted_at": fields.Datetime.now(),
                }
            )
            # an SMS manager may lack the rights to write contacts: the system logs it,
            # in the manager's name
            partner.sudo().message_post(
                author_id=self.env.user.partner_id.id,
                body=self.env._(
                    "SMS suppression of %(number)s lifted by %(user)s.",
                    number=number,
                    user=self.env.user.name,
                ),
                message_type="notification",
            )
        return True
