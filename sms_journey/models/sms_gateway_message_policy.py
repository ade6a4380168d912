"""sms.gateway.message: the sending policy asked again about queued messages, at
dispatch, on a consent change and on resend (``tools/outbox.py`` says what each answer
does), and the cancellations and deferrals it decides; the marketing SMS a company's
budget held, released when it is raised."""

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import outbox as outbox_rules
from ..tools import policy
from .bulk_sql import sql_values
from .sms_sender import PolicyItem


class SmsGatewayMessage(models.Model):
    """The outbox and the sending policy: what is still allowed when it goes."""

    _inherit = "sms.gateway.message"

    def _policy_items(self):
        """These messages as the sending policy sees them; their number is the E.164 the
        policy gave when they were queued."""
        return [
            PolicyItem(
                kind=message.sms_kind or "transactional",
                partner=message.partner_id,
                number=message.number or "",
                sanitized=bool(message.number),
                list_consent=message.list_consent,
                cost=message.cost,
            )
            for message in self
        ]

    def _ask_policy_again(
        self, timing=True, cap_states=outbox_rules.CAP_STATES_AT_ENQUEUE, budgets=None
    ):
        """(``tools.outbox.Plan``, verdicts in order) of these messages now: one
        ``sms.sender._decide`` per company and gateway, no query per message.

        ``cap_states``: the states of the other marketing SMS that count towards the
        frequency cap (these messages never count themselves). ``budgets``: a dict that
        receives {company: its ``cost_guard.MonthlyBudget``} as the messages let go
        spend it (companies with a budget only)."""
        now = fields.Datetime.now()
        sender = self.env["sms.sender"]
        by_id = {}
        for company, messages in self.grouped("company_id").items():
            cap_times, budget = {}, None
            if timing:  # the company's cap or a legal maximum (none: no query)
                marketing = messages.filtered(lambda m: m.sms_kind == "marketing")
                cap_times = sender._recent_marketing_times(
                    marketing.partner_id, company, now, states=cap_states, exclude_ids=self.ids
                )
                budget = sender._marketing_budget(company, now) if marketing else None
                if budget and budgets is not None:
                    budgets[company] = budget
            for gateway, batch in messages.grouped("gateway_id").items():
                verdicts = sender._decide(
                    company,
                    batch._policy_items(),
                    now=now,
                    timing=timing,
                    cap_times=cap_times,
                    gateway=gateway,
                    budget=budget,
                )
                by_id.update(zip(batch.ids, verdicts, strict=True))
        verdicts = [by_id[message_id] for message_id in self.ids]
        return outbox_rules.plan([v.decision for v in verdicts], timing=timing), verdicts

    def _check_policy_before_sending(self):
        """Ask the policy about these claimed messages just before the provider gets them;
        returns those that may go. What it refuses now (a STOP, "No marketing", the
        blacklist, the consent rule since they were queued, a destination the gateway no
        longer allows) is canceled with its reason; what it defers (quiet hours,
        frequency cap, the marketing budget) waits in the queue again. The SMS managers
        of a company whose marketing budget reaches 80 % are told once a month.

        Dispatch hot path: a batch of transactional SMS costs no query (the blacklist's
        flag and the allowed destinations are cached), marketing ones a few per batch."""
        if not self:
            return self
        blacklist_empty = not self.env["phone.blacklist"]._sms_journey_any_active()
        if all(
            m.number
            and policy.always_sends(m.sms_kind, blacklist_empty)
            and m.gateway_id._destination_allowed(m.number)
            for m in self
        ):
            return self
        budgets = {}
        plan, verdicts = self._ask_policy_again(
            cap_states=outbox_rules.CAP_STATES_AT_DISPATCH, budgets=budgets
        )
        for company, budget in budgets.items():
            company._sms_marketing_budget_warn(budget)
        if not plan.cancel and not plan.defer:
            return self
        ids = self.ids
        self.browse([ids[i] for i, _reason in plan.cancel])._cancel_by_policy(
            [verdicts[i] for i, _reason in plan.cancel], claimed=True
        )
        self.browse([ids[i] for i, _due, _by in plan.defer])._defer_by_policy(
            [verdicts[i] for i, _due, _by in plan.defer], claimed=True
        )
        return self.browse([ids[i] for i in plan.send])

    @api.model
    def _cancel_refused_for_numbers(self, numbers, partners=None):
        """Consent changed for ``numbers`` (E.164) or ``partners``: cancel at once, in the
        caller's transaction, their held messages that the policy now refuses (the
        consent paths call this: ``res.partner._sms_consent_set``, the blacklist)."""
        numbers = list(
            {*filter(None, numbers), *(partners.mapped("phone_sanitized") if partners else ())}
        )
        # and those Odoo's queue holds for a legal window (no gateway)
        self.env["sms.sms"]._sms_journey_cancel_refused_held(numbers, partners)
        conditions = [[("number", "in", numbers)]] if numbers else []
        if partners:
            conditions.append([("partner_id", "in", partners.ids)])
        if not conditions:
            return self.browse()
        held = self.sudo().search(
            expression.AND([[("state", "in", outbox_rules.HELD)], expression.OR(conditions)])
        )
        return held._cancel_refused()

    @api.model
    def _cancel_refused_for_companies(self, companies):
        """The marketing consent rule of ``companies`` changed: cancel at once their held
        marketing messages that the policy now refuses (Odoo's queue's too)."""
        self.env["sms.sms"]._sms_journey_cancel_refused_held((), companies=companies)
        held = self.sudo().search(
            [
                ("state", "in", outbox_rules.HELD),
                ("sms_kind", "=", "marketing"),
                ("company_id", "in", companies.ids),
            ]
        )
        return held._cancel_refused()

    def _cancel_refused(self):
        """Cancel those of these held messages that the policy refuses now; returns them.
        Consent only: the clock is the dispatch's to judge."""
        if not self:
            return self
        plan, verdicts = self._ask_policy_again(timing=False)
        refused = self.browse([self.ids[i] for i, _reason in plan.cancel])
        refused._cancel_by_policy([verdicts[i] for i, _reason in plan.cancel])
        return refused

    def _cancel_by_policy(self, verdicts, claimed=False):
        """Cancel these messages with the policy's ``verdicts`` (in order) as the
        enqueue-time cancel shows it: the reason on the outbox row and on the chatter
        notification, the ``sms.sms`` and its tracker canceled with the failure type.
        ``claimed``: they were claimed for this send, which then never happened."""
        if not self:
            return
        self._write_policy_outcome(
            "canceled",
            [
                (m.id, None, v.decision.reason, v.reason)
                for m, v in zip(self, verdicts, strict=True)
            ],
            claimed,
        )
        by_failure_type = {}
        for message, verdict in zip(self, verdicts, strict=True):
            by_failure_type.setdefault(verdict.failure_type, []).append(message.sms_uuid)
        SmsSms = self.env["sms.sms"].sudo()
        Tracker = self.env["sms.tracker"].sudo()
        for failure_type, uuids in by_failure_type.items():
            SmsSms.search([("uuid", "in", uuids)])._sms_journey_set_state(
                "canceled", failure_type=failure_type
            )
            # as for the notifications below, Odoo leaves a mailing trace in "process"
            Tracker.search([("sms_uuid", "in", uuids)]).mailing_trace_id.filtered(
                lambda trace: trace.trace_status in ("outgoing", "process", "pending")
            ).write({"trace_status": "cancel", "failure_type": failure_type})
        # The trackers leave a notification in "process" as it is (Odoo: what reached IAP
        # cannot be canceled); these never reached the provider.
        notifications = self._cancel_notifications(
            [(m.sms_uuid, v.failure_type, v.reason) for m, v in zip(self, verdicts, strict=True)]
        )
        notifications.mail_message_id._notify_message_notification_update()

    def _defer_by_policy(self, verdicts, claimed=False):
        """Put these messages back in the queue until the policy's time (quiet hours, a
        frequency cap), with its reason."""
        if not self:
            return
        self._write_policy_outcome(
            "queued",
            [
                (m.id, v.decision.due_at, None, v.reason)
                for m, v in zip(self, verdicts, strict=True)
            ],
            claimed,
        )
        self._trigger_dispatch(min(v.decision.due_at for v in verdicts))

    def _write_policy_outcome(self, state, rows, claimed):
        """One UPDATE: ``state`` with ``rows`` = [(id, due at or None, error code or None,
        readable reason)]: a cancel reason as ``failure_reason``, a deferral's as
        ``deferred_reason``. ``claimed``: undo the claim's count of an attempt."""
        if not rows:
            return
        canceled = state == "canceled"
        unclaim = SQL(
            """attempts = GREATEST(m.attempts - 1, 0),
               first_attempt_at = CASE WHEN m.attempts <= 1 THEN NULL
                                       ELSE m.first_attempt_at END,"""
            if claimed
            else ""
        )
        self.flush_recordset()
        self.env.execute_query(
            SQL(
                """UPDATE sms_gateway_message m
                      SET state = %(state)s,
                          due_at = COALESCE(v.due_at::timestamp, m.due_at),
                          error_code = CASE WHEN %(canceled)s THEN v.code ELSE m.error_code END,
                          failure_reason = CASE WHEN %(canceled)s THEN v.reason
                                                ELSE m.failure_reason END,
                          deferred_reason = CASE WHEN %(canceled)s THEN NULL ELSE v.reason END,
                          needs_lookup = CASE WHEN %(canceled)s THEN FALSE ELSE m.needs_lookup END,
                          cost = CASE WHEN %(canceled)s THEN 0.0 ELSE m.cost END,
                          %(unclaim)s
                          write_uid = %(uid)s,
                          write_date = %(now)s
                     FROM (VALUES %(rows)s) AS v(id, due_at, code, reason)
                    WHERE m.id = v.id""",
                state=state,
                canceled=canceled,
                unclaim=unclaim,
                uid=self.env.uid,
                now=fields.Datetime.now(),
                rows=sql_values(rows, 4),
            )
        )
        self.invalidate_recordset()
        # stored copies of the state and cost (journey traces)
        self.modified(["state", "due_at", "cost"])

    @api.model
    def _cancel_notifications(self, rows):
        """Cancel the chatter notifications of SMS, in one UPDATE; returns them.

        :param rows: ``[(sms uuid, failure type, reason)]``
        """
        self.env["mail.notification"].flush_model()
        self.env["sms.tracker"].flush_model(["sms_uuid", "mail_notification_id"])
        ids = self.env.execute_query(
            SQL(
                """UPDATE mail_notification n
                      SET notification_status = 'canceled',
                          failure_type = v.failure_type,
                          failure_reason = v.reason
                     FROM (VALUES %s) AS v(sms_uuid, failure_type, reason), sms_tracker t
                    WHERE t.sms_uuid = v.sms_uuid AND n.id = t.mail_notification_id
                RETURNING n.id""",
                sql_values(rows, 3),
            )
        )
        notifications = self.env["mail.notification"].sudo().browse([row[0] for row in ids])
        notifications.invalidate_recordset(
            ["notification_status", "failure_type", "failure_reason"]
        )
        return notifications
