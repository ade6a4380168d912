from odoo import api, fields, models

from ..tools.encoding import analyze
from .bulk_sql import insert_rows
from .sms_gateway_message import CANCEL_TO_FAILURE_TYPE


class SmsGatewayMessage(models.Model):
    """Queue SMS that their sender already logged on the chatter (journey steps).

    Odoo's path creates an ``sms.sms``, hands it to ``_enqueue_sms`` through ``send()``
    and then updates the chatter notification. A bulk sender that wrote the chatter
    messages itself can skip the ``sms.sms`` round: the same compliance rules decide
    per SMS, and the outbox rows, the chatter notifications (already in their final
    state: processing, or canceled with the reason) and their delivery trackers are
    written with one INSERT each. Delivery reports then follow them as for any SMS
    (the trackers are keyed by the SMS uuid; no ``sms.sms`` is needed after sending).
    """

    _inherit = "sms.gateway.message"

    @api.model
    def _enqueue_logged(self, gateway, entries):
        """Queue ``entries`` in ``gateway``'s outbox; returns the outbox rows in order.

        Each entry is a dict: ``uuid``, ``partner`` (res.partner), ``number``,
        ``sanitized`` (the number is the partner's ``phone_sanitized``), ``body``,
        ``kind`` (marketing/transactional/essential), ``message`` (its chatter
        mail.message) and ``template`` (sms.template, may be empty).
        """
        if not entries:
            return self.browse()
        now = fields.Datetime.now()
        company = gateway.company_id
        blacklisted = self._blacklisted_numbers(
            [entry["number"] for entry in entries if entry["sanitized"]], sanitized=True
        ) | self._blacklisted_numbers([e["number"] for e in entries if not e["sanitized"]])
        partners = self.env["res.partner"].browse({entry["partner"].id for entry in entries})
        cap_times = self._recent_marketing_times(partners, company, now)
        rows = []
        for entry in entries:
            verdict = self._check_compliance(
                entry["kind"],
                entry["partner"],
                entry["number"],
                company,
                blacklisted,
                cap_times,
                now,
                sanitized=entry["sanitized"],
            )
            info = analyze(entry["body"] or "")
            rows.append(
                {
                    "sms_uuid": entry["uuid"],
                    "gateway_id": gateway.id,
                    "company_id": company.id,
                    "partner_id": entry["partner"].id or None,
                    "mail_message_id": entry["message"].id,
                    "template_id": entry["template"].id or None,
                    "number": verdict.get("number") or entry["number"] or "",
                    "body": entry["body"] or "",
                    "sms_kind": entry["kind"],
                    "state": verdict["state"],
                    "due_at": verdict.get("due_at") or now,
                    "deferred_reason": verdict.get("deferred_reason") or None,
                    "error_code": verdict.get("error_code"),
                    "failure_reason": verdict.get("failure_reason"),
                    "encoding": info.encoding,
                    "segments": info.segments,
                    "cost": info.segments * gateway.price_per_segment,
                    "attempts": 0,
                    "needs_lookup": False,
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
        notification_rows = []
        for entry, row in zip(entries, rows, strict=True):
            canceled = row["state"] == "canceled"
            notification_rows.append(
                {
                    "mail_message_id": entry["message"].id,
                    "res_partner_id": entry["partner"].id or None,
                    "author_id": entry["message"].author_id.id or None,
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
                {"sms_uuid": entry["uuid"], "mail_notification_id": notification.id}
                for entry, notification in zip(entries, notifications, strict=True)
            ],
        )
        self.env["mail.message"].invalidate_model(["notification_ids"])
        self.env["mail.notification"].invalidate_model(["sms_tracker_ids"])
