"""sms.gateway.message: the provider's delivery reports, applied to the outbox rows and
to Odoo's SMS trackers."""

import logging

from odoo import api, fields, models

from ..tools import deliverability

_logger = logging.getLogger(__name__)

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


class SmsGatewayMessage(models.Model):
    """Delivery reports: duplicates and out-of-order ones are harmless."""

    _inherit = "sms.gateway.message"

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
            [
                "provider_message_id", "sms_uuid", "state", "sent_at", "sms_id",
                "provider_status", "company_id", "partner_id", "number", "gateway_id",
            ],
        )  # fmt: skip
        by_provider_id = {m.provider_message_id: m for m in messages if m.provider_message_id}
        by_ref = {m.sms_uuid: m for m in messages}
        processed = self.browse()
        changed = []
        for report, ref in wanted:
            message = by_provider_id.get(report.provider_message_id) or by_ref.get(ref)
            if not message:
                _logger.info(
                    "Delivery report for unknown SMS %s ignored", report.provider_message_id
                )
                continue
            # taken from the fields fetched above, before the report's writes
            change = (message.company_id.id, message.partner_id.id, message.number)
            if message._apply_status_report(report):
                changed.append(change)
            processed |= message
        # one notification for the whole batch
        self.env["sms.conversation"]._notify_changed(changed)
        dead = processed.filtered(lambda m: m.state == "failed" and m.permanent_failure)
        if dead:
            self.env["res.partner"]._sms_suppress_dead_numbers(dead)
        return processed

    def _apply_status_report(self, report):
        """Apply one delivery report; returns whether the message's state moved."""
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
            return False
        vals["state"] = new_state
        if new_state == "sent":
            vals["sent_at"] = self.sent_at or now
        elif new_state == "delivered":
            vals.update(delivered_at=now, sent_at=self.sent_at or now)
        elif new_state == "failed":
            vals.update(
                error_code=report.error_code,
                failure_reason=report.error_message or report.error_code,
                provider_error_code=report.provider_error_code,
                permanent_failure=deliverability.is_permanent(
                    self.gateway_id.code, report.provider_error_code, report.error_code
                ),
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
        return True
