import logging
import threading
import time
from datetime import timedelta

from psycopg2.errors import SerializationFailure

from odoo import _, api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import outbox as outbox_rules
from ..tools import policy
from ..tools.encoding import analyze
from ..tools.gateways.base import OutgoingSms, SendResult
from ..tools.gateways.dispatch import send_batch
from .bulk_sql import insert_rows, sql_values
from .sms_sender import CANCEL_TO_FAILURE_TYPE, PolicyItem

_logger = logging.getLogger(__name__)

# Provider error codes (tools/gateways) → sms.sms failure_type, for Odoo's own UI.
ERROR_TO_FAILURE_TYPE = {
    "invalid_number": "sms_number_format",
    "opted_out": "sms_blacklist",
    "auth": "sms_acc",
    "credit": "sms_credit",
    "rate_limited": "sms_server",
    "server_error": "sms_server",
    "timeout": "sms_server",
    "connection": "sms_server",
}
# Delivery-report error codes → the DELIVERY_ERRORS of sms.tracker (sms_<code>).
ERROR_TO_DELIVERY_ERROR = {
    "invalid_number": "invalid_destination",
    "opted_out": "not_allowed",
    "rejected": "rejected",
    "expired": "expired",
    "not_delivered": "not_delivered",
}
# A later report never moves a message back: delivered/failed are final.
STATE_RANK = {
    "queued": 0,
    "sending": 1,
    "review": 1,
    "sent": 2,
    "delivered": 3,
    "failed": 3,
    "canceled": 3,
}
# A claim older than this means the worker died between request and commit.
STALE_CLAIM = timedelta(minutes=10)
#: How long one run of a dispatch lane sends before it gives its cron thread back
#: (see ``_cron_dispatch``).
DISPATCH_BUDGET = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)


def _outbox_columns(gateway, uuid, body, kind, partner, message, template):
    """Column values of a new outbox row, for the SQL INSERT (None for empty relations,
    every column without a default given); the number and state come from the policy's
    verdict (``_verdict_values``)."""
    info = analyze(body or "")
    return {
        "sms_uuid": uuid,
        "gateway_id": gateway.id,
        "company_id": gateway.company_id.id or None,
        "partner_id": partner.id or None,
        "mail_message_id": message.id or None,
        "template_id": template.id or None,
        "body": body or "",
        "sms_kind": kind,
        "encoding": info.encoding,
        "segments": info.segments,
        "cost": info.segments * gateway.price_per_segment,
        "attempts": 0,
        "needs_lookup": False,
        "list_consent": False,
    }


def _verdict_values(verdict):
    """Outbox columns of a policy verdict (``sms.sender._decide``). A canceled SMS never
    reaches a provider, so it costs nothing (results and ROI count what was sent)."""
    decision = verdict.decision
    return {
        **({"cost": 0.0} if decision.canceled else {}),
        "number": verdict.number,
        "state": "canceled" if decision.canceled else "queued",
        "due_at": decision.due_at,
        "deferred_reason": None if decision.canceled else verdict.reason,
        "error_code": decision.reason,
        "failure_reason": verdict.reason if decision.canceled else None,
    }


def _testing():
    return getattr(threading.current_thread(), "testing", False)


class SmsGatewayMessage(models.Model):
    """One SMS handed to a gateway: the outbox row, then the lasting record of its
    delivery (``sms.sms`` rows are deleted once sent; this one stays for reports,
    costs and statistics).

    Lifecycle: ``queued`` (due at ``due_at``) → ``sending`` (claimed and committed before
    the request) → ``sent`` (accepted) → ``delivered`` / ``failed`` from delivery reports.
    ``canceled`` holds the compliance reason; ``review`` is a send whose outcome was lost
    in a crash and that the provider cannot confirm: never resent blindly.

    Bulk senders that already logged their SMS on the chatter (journey steps) skip the
    ``sms.sms`` round (``_enqueue_logged``): the same compliance rules decide per SMS,
    and the outbox rows, the chatter notifications (already in their final state:
    processing, or canceled with the reason) and their delivery trackers are written
    with one INSERT each. Delivery reports then follow them as for any SMS (the
    trackers are keyed by the SMS uuid; no ``sms.sms`` is needed after sending).
    """

    _name = "sms.gateway.message"
    _description = "SMS Outbox Message"
    _order = "id desc"
    _rec_name = "number"

    # indexed by its unique constraint
    sms_uuid = fields.Char("Reference", required=True, readonly=True)
    sms_id = fields.Many2one("sms.sms", "SMS", ondelete="set null", readonly=True)
    gateway_id = fields.Many2one("sms.gateway", required=True, index=True, readonly=True)
    company_id = fields.Many2one(related="gateway_id.company_id", store=True)
    partner_id = fields.Many2one("res.partner", index="btree_not_null", readonly=True)
    mail_message_id = fields.Many2one("mail.message", ondelete="set null", readonly=True)
    # kept so that replies can be matched to the template they answer
    template_id = fields.Many2one(
        "sms.template", "SMS template", readonly=True, index="btree_not_null", ondelete="set null"
    )
    number = fields.Char(required=True, readonly=True)
    body = fields.Text(readonly=True)
    sms_kind = fields.Selection(
        [
            ("transactional", "Transactional"),
            ("marketing", "Marketing"),
            ("essential", "Essential"),
        ],
        string="Message type",
        required=True,
        default="transactional",
        readonly=True,
    )
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("failed", "Failed"),
            ("canceled", "Canceled"),
            ("review", "To review"),
        ],
        default="queued",
        required=True,
        index=True,
        readonly=True,
    )
    due_at = fields.Datetime(
        "Due at",
        default=fields.Datetime.now,
        required=True,
        readonly=True,
        help="Not sent before: quiet hours, frequency caps and retries move it later.",
    )
    deferred_reason = fields.Char(readonly=True)
    list_consent = fields.Boolean(
        "Mailing-list consent",
        readonly=True,
        help="Sent by a mailing to mailing lists: the subscription stood for the marketing "
        "consent when the SMS was queued, and still does when the policy is asked again.",
    )
    claimed_at = fields.Datetime(readonly=True)
    first_attempt_at = fields.Datetime(readonly=True)
    needs_lookup = fields.Boolean(
        readonly=True,
        help="The last attempt ended without a clear answer (time-out, crash): ask the "
        "provider whether it has the message before sending it again.",
    )
    attempts = fields.Integer(default=0, readonly=True)
    sent_at = fields.Datetime(readonly=True, index="btree_not_null")
    delivered_at = fields.Datetime(readonly=True)
    provider_message_id = fields.Char("Provider ID", readonly=True, index="btree_not_null")
    provider_status = fields.Char(readonly=True)
    error_code = fields.Char(readonly=True)
    failure_reason = fields.Text(readonly=True)
    encoding = fields.Char(readonly=True)
    segments = fields.Integer(readonly=True)
    cost = fields.Float(digits=(12, 5), readonly=True)
    currency_id = fields.Many2one(related="gateway_id.currency_id")

    _sql_constraints = [
        ("sms_uuid_unique", "unique(sms_uuid)", "An SMS enters the outbox only once."),
    ]

    def init(self):
        # The dispatch claim scans only due queued rows.
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_gateway_message_queue_idx
               ON sms_gateway_message (due_at, id) WHERE state = 'queued'"""
        )

    # ------------------------------------------------------------------
    # Enqueue: the policy's verdicts become outbox rows
    # ------------------------------------------------------------------

    @api.model
    def _enqueue_sms(self, gateway, sms_records):
        """Hand ``sms.sms`` records to ``gateway``'s outbox under the sending policy.

        Canceled SMS keep their reason (on the outbox row and the chatter
        notification); the others wait in the queue, deferred by quiet hours and
        frequency caps, and the dispatch cron is woken up.
        """
        items = sms_records._sms_journey_policy_items()
        verdicts = self.env["sms.sender"]._decide(gateway.company_id, items)
        # Odoo's "Resend" puts a failed sms.sms back: its outbox row is reused, not copied.
        existing = {
            message.sms_uuid: message
            for message in self.search([("sms_uuid", "in", sms_records.mapped("uuid"))])
        }
        vals_list, reused, queued_ids, queued_due = [], self.browse(), [], []
        canceled, reasons = {}, []  # {error code: [sms id]}, [(uuid, reason)]
        for sms, item, verdict in zip(sms_records, items, verdicts, strict=True):
            vals = dict(
                self._prepare_outbox_values(gateway, sms),
                list_consent=item.list_consent,
                **_verdict_values(verdict),
            )
            previous = existing.get(sms.uuid)
            if previous and previous.state not in ("failed", "canceled"):
                continue  # already on its way: never twice
            if vals["state"] == "queued":
                queued_ids.append(sms.id)
                queued_due.append(vals["due_at"])
            else:
                canceled.setdefault(vals["error_code"], []).append(sms.id)
                if vals["failure_reason"]:
                    reasons.append((sms.uuid, vals["failure_reason"]))
            if previous:
                for column in ("sms_uuid", "company_id", "attempts"):
                    vals.pop(column)
                previous.write(
                    {
                        **vals,
                        "needs_lookup": False,
                        "provider_message_id": False,
                        "error_code": vals["error_code"] or False,
                        "failure_reason": vals["failure_reason"] or False,
                    }
                )
                reused |= previous
            else:
                vals_list.append(vals)
        # one INSERT (the ORM would write 100 rows per statement)
        messages = reused | insert_rows(self, vals_list)
        # a few statements per cancel reason, not a few per SMS: a campaign to 10,000
        # contacts without consent cancels 10,000 SMS
        SmsSms = self.env["sms.sms"]
        for error_code, sms_ids in canceled.items():
            SmsSms.browse(sms_ids)._sms_journey_set_state(
                "canceled", failure_type=CANCEL_TO_FAILURE_TYPE.get(error_code, "unknown")
            )
        self._set_notification_reasons(reasons)
        if queued_ids:
            SmsSms.browse(queued_ids)._sms_journey_set_state("process")
            self._trigger_dispatch(min(queued_due))
        return messages

    @api.model
    def _enqueue_logged(self, gateway, entries):
        """Queue SMS their sender already logged on the chatter (``sms.sender._send``);
        returns the outbox rows in order.

        No ``sms.sms`` round: the outbox rows, the chatter notifications (already in
        their final state: processing, or canceled with the reason) and their delivery
        trackers are written with one INSERT each. Delivery reports then follow them as
        for any SMS (the trackers are keyed by the SMS uuid).

        :param entries: ``sms.sender.OutboxEntry`` each (the policy's verdict included)
        """
        if not entries:
            return self.browse()
        now = fields.Datetime.now()
        rows = []
        for entry in entries:
            rows.append(
                {
                    **_outbox_columns(
                        gateway,
                        entry.uuid,
                        entry.body,
                        entry.kind,
                        entry.partner,
                        entry.message,
                        entry.template,
                    ),
                    **_verdict_values(entry.verdict),
                }
            )
        outbox = insert_rows(self, rows)
        self._log_notifications(entries, rows, now)
        queued = [row["due_at"] for row in rows if row["state"] == "queued"]
        if queued:
            self._trigger_dispatch(min(queued))
        return outbox

    @api.model
    def _log_notifications(self, entries, rows, now):
        """The chatter notification of each SMS (its state icon on the message) and the
        tracker that moves it with the delivery reports."""
        logged = [(entry, row) for entry, row in zip(entries, rows, strict=True) if entry.message]
        notification_rows = []
        for entry, row in logged:
            canceled = row["state"] == "canceled"
            notification_rows.append(
                {
                    "mail_message_id": entry.message.id,
                    "res_partner_id": entry.partner.id or None,
                    "author_id": entry.message.author_id.id or None,
                    "notification_type": "sms",
                    "notification_status": "canceled" if canceled else "process",
                    "failure_type": (
                        CANCEL_TO_FAILURE_TYPE.get(row["error_code"], "unknown")
                        if canceled
                        else None
                    ),
                    "failure_reason": row["failure_reason"] if canceled else None,
                    "sms_number": row["number"],
                    "is_read": True,
                    "read_date": now,
                }
            )
        notifications = insert_rows(self.env["mail.notification"].sudo(), notification_rows)
        insert_rows(
            self.env["sms.tracker"].sudo(),
            [
                {"sms_uuid": entry.uuid, "mail_notification_id": notification.id}
                for (entry, _row), notification in zip(logged, notifications, strict=True)
            ],
        )
        self.env["mail.message"].invalidate_model(["notification_ids"])
        self.env["mail.notification"].invalidate_model(["sms_tracker_ids"])

    def _prepare_outbox_values(self, gateway, sms):
        """Column values of the outbox row of ``sms`` (an ``sms.sms``)."""
        return dict(
            _outbox_columns(
                gateway,
                sms.uuid,
                sms.body,
                sms.sms_kind or "transactional",
                sms.partner_id,
                sms.mail_message_id,
                sms.template_id,
            ),
            sms_id=sms.id,
            number=sms.number or "",
        )

    def _trigger_dispatch(self, at=None):
        """Wake every dispatch lane: the crons running ``_cron_dispatch`` (Odoo runs one
        job in one thread at a time, so each lane is a cron record of its own)."""
        lanes = (
            self.env["ir.cron"]
            .sudo()
            .search([("model_id.model", "=", self._name), ("code", "like", "_cron_dispatch(")])
        )
        now = fields.Datetime.now()
        for lane in lanes:
            lane._trigger(at if at and at > now else None)

    def _update_notification_reason(self):
        """Show the outbox reason on the chatter notification of the SMS."""
        self._set_notification_reasons(
            [(m.sms_uuid, m.failure_reason) for m in self if m.failure_reason]
        )

    @api.model
    def _set_notification_reasons(self, reasons):
        """Write each reason on the chatter notification of its SMS, in one UPDATE.

        :param reasons: ``[(sms uuid, reason)]``
        """
        if not reasons:
            return
        self.env["mail.notification"].flush_model(["failure_reason"])
        self.env["sms.tracker"].flush_model(["sms_uuid", "mail_notification_id"])
        self.env.execute_query(
            SQL(
                """UPDATE mail_notification n
                      SET failure_reason = v.reason
                     FROM (VALUES %s) AS v(sms_uuid, reason), sms_tracker t
                    WHERE t.sms_uuid = v.sms_uuid AND n.id = t.mail_notification_id""",
                sql_values(reasons, 2),
            )
        )
        self.env["mail.notification"].invalidate_model(["failure_reason"])

    # ------------------------------------------------------------------
    # The policy asked again: at dispatch, on a consent change, on resend
    # (tools/outbox.py says what each answer does)
    # ------------------------------------------------------------------

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
            )
            for message in self
        ]

    def _ask_policy_again(self, timing=True, cap_states=outbox_rules.CAP_STATES_AT_ENQUEUE):
        """(``tools.outbox.Plan``, verdicts in order) of these messages now: one
        ``sms.sender._decide`` per company, no query per message.

        ``cap_states``: the states of the other marketing SMS that count towards the
        frequency cap (these messages never count themselves)."""
        now = fields.Datetime.now()
        sender = self.env["sms.sender"]
        by_id = {}
        for company, messages in self.grouped("company_id").items():
            cap_times = {}
            if timing:  # the company's cap or a legal maximum (none: no query)
                marketing = messages.filtered(lambda m: m.sms_kind == "marketing")
                cap_times = sender._recent_marketing_times(
                    marketing.partner_id, company, now, states=cap_states, exclude_ids=self.ids
                )
            verdicts = sender._decide(
                company, messages._policy_items(), now=now, timing=timing, cap_times=cap_times
            )
            by_id.update(zip(messages.ids, verdicts, strict=True))
        verdicts = [by_id[message_id] for message_id in self.ids]
        return outbox_rules.plan([v.decision for v in verdicts], timing=timing), verdicts

    def _check_policy_before_sending(self):
        """Ask the policy about these claimed messages just before the provider gets them;
        returns those that may go. What it refuses now (a STOP, "No marketing", the
        blacklist, the consent rule since they were queued) is canceled with its reason;
        what it defers (quiet hours, frequency cap) waits in the queue again.

        Dispatch hot path: a batch of transactional SMS costs no query (the blacklist's
        flag is cached), marketing ones a few per batch."""
        if not self:
            return self
        blacklist_empty = not self.env["phone.blacklist"]._sms_journey_any_active()
        if all(m.number and policy.always_sends(m.sms_kind, blacklist_empty) for m in self):
            return self
        plan, verdicts = self._ask_policy_again(cap_states=outbox_rules.CAP_STATES_AT_DISPATCH)
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
        marketing messages that the policy now refuses."""
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

    # ------------------------------------------------------------------
    # Dispatch: claim, send, record
    # ------------------------------------------------------------------

    @api.model
    def _cron_dispatch(self, batch_size=500):
        """Send due queued messages in claimed batches.

        The claim is ``FOR UPDATE SKIP LOCKED`` and committed as ``sending`` before any
        request, so parallel workers never pick the same row and a crash after the
        request leaves a trace for ``_cron_reconcile`` instead of a silent resend.

        A run sends for about ``DISPATCH_BUDGET``: each claim holds what its gateway
        sends in that time at its rate. A lane with more to send books its next run and
        gives its cron thread back, rather than reporting progress left: Odoo would run
        it again at once, up to ten times on the same thread, and a backlog sent at a
        provider's rate would hold every cron thread for minutes, leaving the inbound
        worker and the other jobs waiting.
        """
        auto_commit = not _testing()
        deadline = time.monotonic() + DISPATCH_BUDGET.total_seconds()
        claimed = self.browse()
        out_of_time = False
        if auto_commit:
            # a fresh snapshot for the claims: rows other lanes committed since the cron's
            # transaction began can then be skipped or claimed (see ``_claim_due``)
            self.env.cr.commit()  # pylint: disable=invalid-commit
        for gateway in self._gateways_due():
            quota = gateway._dispatch_quota(batch_size, DISPATCH_BUDGET)
            while not out_of_time:
                batch = self._claim_due(quota, gateway=gateway)
                if auto_commit:
                    self.env.cr.commit()  # the claim must be durable before the provider sees it
                if not batch:
                    break
                batch._send_claimed(gateway)
                if auto_commit:
                    self.env.cr.commit()  # results of each batch are kept
                claimed |= batch
                out_of_time = time.monotonic() >= deadline
        remaining = self.search_count(
            [("state", "=", "queued"), ("due_at", "<=", fields.Datetime.now())]
        )
        lane = self.env["ir.cron"].sudo().browse(self.env.context.get("cron_id"))
        if remaining and out_of_time and lane:
            lane._trigger()  # runs again after the other ready jobs
        else:
            self.env["ir.cron"]._notify_progress(done=len(claimed), remaining=remaining)
        if not remaining:
            next_due = self.search([("state", "=", "queued")], order="due_at", limit=1).due_at
            if next_due:
                self._trigger_dispatch(next_due)
        return claimed

    @api.model
    def _gateways_due(self):
        """The gateways with messages due now, in one query (the queue's index)."""
        self.flush_model(["state", "due_at", "gateway_id"])
        rows = self.env.execute_query(
            SQL(
                """SELECT DISTINCT gateway_id FROM sms_gateway_message
                    WHERE state = 'queued' AND due_at <= %s""",
                fields.Datetime.now(),
            )
        )
        return self.env["sms.gateway"].browse(sorted(row[0] for row in rows))

    @api.model
    def _claim_due(self, limit, ids=None, gateway=None):
        self.flush_model()
        only_ids = SQL("AND id IN %s", tuple(ids)) if ids else SQL()
        if gateway:
            only_ids = SQL("%s AND gateway_id = %s", only_ids, gateway.id)
        claim = SQL(
                """WITH due AS (
                        SELECT id FROM sms_gateway_message
                         WHERE state = 'queued' AND due_at <= %(now)s %(only_ids)s
                      ORDER BY due_at, id
                         LIMIT %(limit)s
                           FOR UPDATE SKIP LOCKED)
                   UPDATE sms_gateway_message m
                      SET state = 'sending',
                          claimed_at = %(now)s,
                          first_attempt_at = COALESCE(m.first_attempt_at, %(now)s),
                          attempts = COALESCE(m.attempts, 0) + 1
                     FROM due
                    WHERE m.id = due.id
                RETURNING m.id""",
                now=fields.Datetime.now(),
                limit=limit,
                only_ids=only_ids,
            )
        try:
            with self.env.cr.savepoint(flush=False):
                # log_exceptions: the failure below is expected, not a "bad query"
                self.env.cr.execute(claim, log_exceptions=False)
                rows = self.env.cr.fetchall()
        except SerializationFailure:
            # Odoo's transactions are REPEATABLE READ: a row another lane claimed and
            # committed after this transaction began cannot be locked here, even with SKIP
            # LOCKED. Those rows are that lane's: expected concurrency, not an error. This
            # run claims nothing more; the lane runs again with a fresh snapshot.
            _logger.info("Outbox: another lane claimed the due messages first")
            return self.browse()
        self.invalidate_model(["state", "claimed_at", "first_attempt_at", "attempts"])
        claimed = self.browse(sorted(row[0] for row in rows))
        claimed.modified(["state"])  # stored copies of the state (journey traces)
        return claimed

    def _send_claimed(self, gateway):
        client = gateway._get_client()
        try:
            to_send = self._settle_with_provider(client)._check_policy_before_sending()
            results = send_batch(
                client,
                [message._to_outgoing() for message in to_send],
                rate_limit=gateway.rate_limit,
                max_concurrency=gateway.max_concurrency,
                # several workers share the account's rate; tests run on one cursor
                bucket=None if _testing() or not to_send else gateway._shared_rate(),
            )
        finally:
            client.close()
        to_send._apply_send_results(results)

    def _settle_with_provider(self, client):
        """Ask the provider about messages whose last attempt has no clear outcome.

        Returns the messages that are safe to send: those never tried and those the
        provider confirms it never received. Found ones are marked sent; when the
        provider cannot tell, the message goes to ``review`` rather than risk a duplicate.
        """
        unclear = self.filtered("needs_lookup")
        now = fields.Datetime.now()
        safe = self - unclear
        for message in unclear:
            # Only what the provider got since our first attempt can be this message.
            since = message.first_attempt_at or message.claimed_at or now
            try:
                found = client.lookup(message._to_outgoing(), since)
            except Exception as error:
                _logger.warning("Lookup of SMS %s failed: %s", message.sms_uuid, error)
                found = None
            if found and found.status == "sent":
                message._mark_sent(found, now)
            elif found and found.is_retry:
                message.needs_lookup = False
                safe |= message
            else:
                message.write(
                    {
                        "state": "review",
                        "failure_reason": _(
                            "The sending was interrupted and %(provider)s cannot confirm "
                            "whether it received this SMS. Check the provider's logs, then "
                            "resend it or mark it as sent.",
                            provider=message.gateway_id.name,
                        ),
                    }
                )
        return safe

    def _to_outgoing(self):
        return OutgoingSms(
            reference=self.sms_uuid,
            to=self.number,
            body=self.body,
            status_callback=self.gateway_id._webhook_url("status", ref=self.sms_uuid),
        )

    def _apply_send_results(self, results):
        if not self:
            return
        by_ref = {message.sms_uuid: message for message in self}
        # Re-read under lock: a delivery report may have arrived during the requests.
        self.env.cr.execute(
            "SELECT id FROM sms_gateway_message WHERE id IN %s FOR UPDATE", [tuple(self.ids)]
        )
        self.invalidate_recordset()
        now = fields.Datetime.now()
        sent = []
        for result in results:
            message = by_ref.get(result.reference)
            if not message:
                continue
            if result.status == "sent":
                sent.append((message, result))
            elif result.is_retry and message.attempts < message.gateway_id.max_attempts:
                message._schedule_retry(result, now)
            elif result.is_retry and result.error_code == "timeout":
                # Out of attempts, but the provider may have it: never fail it blindly.
                message.write(
                    {
                        "state": "review",
                        "needs_lookup": True,
                        "failure_reason": result.error_message,
                    }
                )
            else:
                message._mark_failed(result.error_code or "unknown", result.error_message)
        self._mark_sent_bulk(sent, now)

    def _mark_sent(self, result, now):
        self._mark_sent_bulk([(self, result)], now)

    @api.model
    def _mark_sent_bulk(self, pairs, now):
        """Record accepted sends: one UPDATE for the batch, then Odoo's SMS and chatter
        notifications in bulk (this is the dispatch hot path)."""
        if not pairs:
            return
        rows = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s)",
                message.id,
                result.provider_message_id or message.provider_message_id or None,
                result.segments or message.segments or 0,
                abs(result.price) if result.price else message.cost or 0.0,
            )
            for message, result in pairs
        )
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """UPDATE sms_gateway_message m
                      SET provider_message_id = v.provider_id,
                          segments = v.segments,
                          cost = v.cost,
                          sent_at = COALESCE(m.sent_at, %(now)s),
                          needs_lookup = FALSE,
                          error_code = NULL,
                          failure_reason = NULL,
                          state = CASE WHEN m.state IN ('queued', 'sending', 'review')
                                       THEN 'sent' ELSE m.state END
                     FROM (VALUES %(rows)s) AS v(id, provider_id, segments, cost)
                    WHERE m.id = v.id""",
                now=now,
                rows=rows,
            )
        )
        messages = self.browse([message.id for message, _result in pairs])
        messages.invalidate_recordset()
        # stored copies of these fields (journey traces) are recomputed
        messages.modified(["state", "segments", "cost", "sent_at", "provider_message_id"])
        uuids = messages.mapped("sms_uuid")
        sms = (
            self.env["sms.sms"]
            .sudo()
            .with_context(sms_skip_msg_notification=True)
            .search([("uuid", "in", uuids)])
        )
        trackers = (
            self.env["sms.tracker"]
            .sudo()
            .with_context(sms_skip_msg_notification=True)
            .search([("sms_uuid", "in", uuids)])
        )
        trackers._action_update_from_sms_state("pending")
        sms.write({"state": "pending", "failure_type": False, "to_delete": True})
        trackers.mail_notification_id.mail_message_id._notify_message_notification_update()

    def _schedule_retry(self, result, now):
        delay = timedelta(seconds=result.retry_after or 30 * 2 ** max(self.attempts - 1, 0))
        self.write(
            {
                "state": "queued",
                "due_at": now + min(delay, MAX_BACKOFF),
                # A time-out may hide an accepted message: look it up before resending.
                "needs_lookup": result.error_code == "timeout",
                "error_code": result.error_code,
                "failure_reason": _(
                    "Attempt %(n)s failed, retrying: %(error)s",
                    n=self.attempts,
                    error=result.error_message or result.error_code,
                ),
            }
        )

    def _mark_failed(self, error_code, reason):
        self.write(
            {
                "state": "failed",
                "error_code": error_code,
                "failure_reason": reason or error_code,
            }
        )
        failure_type = ERROR_TO_FAILURE_TYPE.get(error_code, "unknown")
        sms = self.sms_id.sudo().exists()
        if sms:
            sms._update_sms_state_and_trackers("error", failure_type=failure_type)
        else:
            self._trackers()._action_update_from_sms_state("error", failure_type=failure_type)
        self._update_notification_reason()
        if error_code == "opted_out":
            # The provider says the recipient unsubscribed (e.g. STOP to the carrier):
            # record it so that every Odoo feature respects it.
            self.env["res.partner"]._sms_consent_opt_out_number(
                self.number,
                source="provider",
                proof=reason,
                partner=self.partner_id,
                company=self.gateway_id.company_id,
            )

    def _trackers(self):
        return self.env["sms.tracker"].sudo().search([("sms_uuid", "in", self.mapped("sms_uuid"))])

    # ------------------------------------------------------------------
    # Crash recovery
    # ------------------------------------------------------------------

    @api.model
    def _cron_reconcile(self, limit=200, stale_after=STALE_CLAIM):
        """Settle messages left ``sending`` by a worker that died mid-batch.

        Each is looked up at the provider by our reference: found → sent; provider says
        it never arrived → queued again; provider can't tell → ``review`` for a person.
        """
        stale = self.search(
            [("state", "=", "sending"), ("claimed_at", "<=", fields.Datetime.now() - stale_after)],
            limit=limit,
            order="id",
        )
        for gateway, messages in stale.grouped("gateway_id").items():
            messages._reconcile_with_provider(gateway)
        return stale

    def _reconcile_with_provider(self, gateway):
        self.write({"needs_lookup": True})
        client = gateway._get_client()
        try:
            safe = self._settle_with_provider(client)
        finally:
            client.close()
        if safe:
            safe.write({"state": "queued", "due_at": fields.Datetime.now()})
            self._trigger_dispatch()

    def action_resend(self):
        """Queue again messages a person checked (review) or that failed, through the
        sending policy: one it refuses now (a number blacklisted since, consent
        revoked) is canceled with its reason instead; quiet hours and caps set when the
        others go."""
        todo = self.filtered(lambda m: m.state in ("review", "failed"))
        if not todo:
            return
        plan, verdicts = todo._ask_policy_again()
        ids = todo.ids
        todo.browse([ids[i] for i, _reason in plan.cancel])._cancel_by_policy(
            [verdicts[i] for i, _reason in plan.cancel]
        )
        queued = plan.send + [i for i, _due, _by in plan.defer]
        requeued = todo.browse([ids[i] for i in queued])
        requeued.write({"failure_reason": False, "needs_lookup": False})
        requeued._write_policy_outcome(
            "queued",
            [(ids[i], verdicts[i].decision.due_at, None, verdicts[i].reason) for i in queued],
            claimed=False,
        )
        requeued.sms_id.sudo().exists()._update_sms_state_and_trackers("process")
        if requeued:
            self._trigger_dispatch()

    def action_mark_sent(self):
        for message in self.filtered(lambda m: m.state == "review"):
            message._mark_sent(
                SendResult(reference=message.sms_uuid, status="sent"), fields.Datetime.now()
            )

    # ------------------------------------------------------------------
    # Delivery reports
    # ------------------------------------------------------------------

    @api.model
    def _process_status_reports(self, gateway, reports, reference=None):
        """Apply delivery reports; duplicates and out-of-order ones are harmless:
        a message never moves back from a final state.

        One query finds the messages of the whole batch (with the fields the reports
        compare), matched on the provider id or on our reference."""
        wanted = [(report, report.reference or reference) for report in reports]
        provider_ids = {report.provider_message_id for report, _ref in wanted}
        refs = {ref for _report, ref in wanted if ref}
        provider_ids.discard(None)
        provider_ids.discard("")
        if not provider_ids and not refs:
            return self.browse()
        domain = [("provider_message_id", "in", list(provider_ids))]
        if refs:
            domain = ["|", *domain, ("sms_uuid", "in", list(refs))]
        messages = self.search_fetch(
            [("gateway_id", "=", gateway.id), *domain],
            ["provider_message_id", "sms_uuid", "state", "sent_at", "sms_id", "provider_status"],
        )
        by_provider_id = {m.provider_message_id: m for m in messages if m.provider_message_id}
        by_ref = {m.sms_uuid: m for m in messages}
        processed = self.browse()
        for report, ref in wanted:
            message = by_provider_id.get(report.provider_message_id) or by_ref.get(ref)
            if not message:
                _logger.info(
                    "Delivery report for unknown SMS %s ignored", report.provider_message_id
                )
                continue
            message._apply_status_report(report)
            processed |= message
        return processed

    def _apply_status_report(self, report):
        now = fields.Datetime.now()
        vals = {"provider_status": report.provider_status or report.status}
        if report.provider_message_id and not self.provider_message_id:
            vals["provider_message_id"] = report.provider_message_id
        new_state = report.status
        if STATE_RANK.get(new_state, 0) <= STATE_RANK[self.state]:
            if new_state == "sent" and not self.sent_at:
                vals["sent_at"] = now
            if vals != {"provider_status": self.provider_status}:  # a replayed report: no write
                self.write(vals)
            return
        vals["state"] = new_state
        if new_state == "sent":
            vals["sent_at"] = self.sent_at or now
        elif new_state == "delivered":
            vals.update(delivered_at=now, sent_at=self.sent_at or now)
        elif new_state == "failed":
            vals.update(
                error_code=report.error_code,
                failure_reason=report.error_message or report.error_code,
            )
        self.write(vals)
        trackers = self._trackers()
        if new_state == "sent":
            trackers._action_update_from_sms_state("pending")
        elif new_state == "delivered":
            trackers._action_update_from_sms_state("sent")
        elif new_state == "failed":
            trackers._action_update_from_provider_error(
                ERROR_TO_DELIVERY_ERROR.get(report.error_code, report.error_code or "not_delivered")
            )
        self.sms_id.sudo().exists().write({"to_delete": True})

    # ------------------------------------------------------------------
    # UI
    # ------------------------------------------------------------------

    def _send_now(self):
        """Send these queued messages at once (test SMS), with the same claim."""
        claimed = self._claim_due(len(self), ids=self.ids)
        for gateway, messages in claimed.grouped("gateway_id").items():
            messages._send_claimed(gateway)
        return claimed
