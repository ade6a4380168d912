"""sms.gateway.message: the outbox row of an SMS and the lasting record of its delivery;
here its fields and the enqueue (the policy's verdicts become outbox rows).

The policy asked again before sending is in ``sms_gateway_message_policy.py``, the
dispatch and crash recovery in ``sms_gateway_message_dispatch.py``, the delivery reports
in ``sms_gateway_message_status.py``."""

import threading

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import cost_guard
from ..tools.encoding import analyze
from .bulk_sql import insert_rows, sql_values
from .sms_sender import CANCEL_TO_FAILURE_TYPE


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
        "attempts": 0,
        "needs_lookup": False,
        "list_consent": False,
    }


def _verdict_values(verdict, gateway, segments):
    """Outbox columns of a policy verdict (``sms.sender._decide``) for an SMS of
    ``segments`` through ``gateway``: its cost at the price of its destination. A
    canceled SMS never reaches a provider, so it costs nothing (results and ROI count
    what was sent)."""
    decision = verdict.decision
    return {
        # the sender serving its destination (tools/routing.py); None: the default one
        "sender_id": gateway._sender_for(verdict.number) if verdict.number else None,
        "cost": 0.0 if decision.canceled else segments * gateway._segment_price(verdict.number),
        "number": verdict.number,
        # for the deliverability report: parsed once here (the price's lookup, cached),
        # never per report row
        "destination_country": cost_guard.destination_country(verdict.number),
        "state": "canceled" if decision.canceled else "queued",
        "due_at": decision.due_at,
        "deferred_reason": None if decision.canceled else verdict.reason,
        "error_code": decision.reason,
        "failure_reason": verdict.reason if decision.canceled else None,
    }


def _testing():
    """Whether this thread runs Odoo's tests: the crons then stay in the test's
    transaction (no commit) and send on its one cursor."""
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
    # Odoo deletes its sent SMS every day (``sms.sms._gc_device``): each looks for its
    # outbox row (ON DELETE SET NULL), the whole outbox read without an index
    sms_id = fields.Many2one(
        "sms.sms", "SMS", ondelete="set null", readonly=True, index="btree_not_null"
    )
    gateway_id = fields.Many2one("sms.gateway", required=True, index=True, readonly=True)
    sender_id = fields.Many2one(
        "sms.gateway.sender",
        readonly=True,
        ondelete="set null",
        help="The sender it leaves from, chosen by its destination (an answer: the one "
        "the reply came in on); empty: the gateway's default sender.",
    )
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
    provider_error_code = fields.Char(
        "Carrier error code",
        readonly=True,
        help="The provider's own code of a failed delivery (Twilio ErrorCode, Vonage err-code).",
    )
    permanent_failure = fields.Boolean(
        readonly=True,
        help="The failed delivery says the number itself is dead (tools/deliverability.py).",
    )
    destination_country = fields.Char("Destination country", size=2, readonly=True)
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
        verdicts = self.env["sms.sender"]._decide(gateway.company_id, items, gateway=gateway)
        # Odoo's "Resend" puts a failed sms.sms back: its outbox row is reused, not copied.
        existing = {
            message.sms_uuid: message
            for message in self.search([("sms_uuid", "in", sms_records.mapped("uuid"))])
        }
        vals_list, reused, queued_ids, queued_due = [], self.browse(), [], []
        canceled, reasons = {}, []  # {error code: [sms id]}, [(uuid, reason)]
        for sms, item, verdict in zip(sms_records, items, verdicts, strict=True):
            vals = self._prepare_outbox_values(gateway, sms)
            vals.update(
                list_consent=item.list_consent,
                **_verdict_values(verdict, gateway, vals["segments"]),
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
                self._add_reply_links(gateway, [vals], ids=[previous.id])
                previous._requeue_as(vals)
                reused |= previous
            else:
                vals_list.append(vals)
        # from a one-way sender: links instead of "reply ..." (sms_gateway_message_links.py)
        self._add_reply_links(gateway, vals_list)
        # one INSERT (the ORM would write 100 rows per statement)
        messages = reused | insert_rows(self, vals_list)
        self.env["sms.conversation"]._notify_changed(
            (gateway.company_id.id, vals["partner_id"], vals["number"]) for vals in vals_list
        )
        self.env["sms.conversation"]._notify_changed(reused._conversation_changes())
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

    def _requeue_as(self, vals):
        """Odoo's *Resend* of a failed or canceled ``sms.sms``: its outbox row takes the
        new values (``vals`` of a new row) and keeps its reference and attempts."""
        kept = ("sms_uuid", "company_id", "attempts")
        self.write(
            {
                **{column: value for column, value in vals.items() if column not in kept},
                "needs_lookup": False,
                "provider_message_id": False,
                "error_code": vals["error_code"] or False,
                "failure_reason": vals["failure_reason"] or False,
            }
        )

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
            columns = _outbox_columns(
                gateway,
                entry.uuid,
                entry.body,
                entry.kind,
                entry.partner,
                entry.message,
                entry.template,
            )
            row = {**columns, **_verdict_values(entry.verdict, gateway, columns["segments"])}
            if entry.sender_id is not None:
                # an answer leaves from the sender the reply came in on (False: the default)
                row["sender_id"] = entry.sender_id or None
            rows.append(row)
        self._add_reply_links(gateway, rows, hints=[entry.reply_link for entry in entries])
        outbox = insert_rows(self, rows)
        self._log_notifications(entries, rows, now)
        self.env["sms.conversation"]._notify_changed(
            (row["company_id"], row["partner_id"], row["number"]) for row in rows
        )
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

    def _conversation_changes(self):
        """(company id, partner id, number) of these messages, for the live screens
        (``sms.conversation._notify_changed``): from the cache when the batch was read."""
        return [(m.company_id.id, m.partner_id.id, m.number) for m in self]

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
