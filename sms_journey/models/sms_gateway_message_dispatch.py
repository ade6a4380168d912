"""sms.gateway.message: the dispatch (claim due messages, send them in batches, record
the results) and the crash recovery of messages a dead worker left ``sending``."""

import logging
import time
from datetime import timedelta

from psycopg2.errors import SerializationFailure

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.gateways.base import OutgoingSms, SendResult
from ..tools.gateways.dispatch import send_batch
from .sms_gateway_message import _testing

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
# A claim older than this means the worker died between request and commit.
STALE_CLAIM = timedelta(minutes=10)
#: How long one run of a dispatch lane sends before it gives its cron thread back
#: (see ``_cron_dispatch``).
DISPATCH_BUDGET = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)


class SmsGatewayMessage(models.Model):
    """Claim, send, record; settle what a crash left unclear."""

    _inherit = "sms.gateway.message"

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
                    # the claim must be durable before the provider sees the messages
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                if not batch:
                    break
                batch._send_claimed(gateway)
                if auto_commit:
                    # what the provider accepted is recorded before the next batch goes
                    self.env.cr.commit()  # pylint: disable=invalid-commit
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
        # the batch's first read (its columns at once), before the results invalidate it
        changes = self._conversation_changes()
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
        self.env["sms.conversation"]._notify_changed(changes)

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
                        "failure_reason": self.env._(
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
            sender=self.sender_id.value or None,
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
                "failure_reason": self.env._(
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

    # crash recovery: a worker died mid-batch ------------------------------

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
        self.env["sms.conversation"]._notify_changed(self._conversation_changes())

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
        self.env["sms.conversation"]._notify_changed(todo._conversation_changes())

    def action_mark_sent(self):
        todo = self.filtered(lambda m: m.state == "review")
        changes = todo._conversation_changes()
        for message in todo:
            message._mark_sent(
                SendResult(reference=message.sms_uuid, status="sent"), fields.Datetime.now()
            )
        self.env["sms.conversation"]._notify_changed(changes)

    def _send_now(self):
        """Send these queued messages at once (test SMS), with the same claim."""
        claimed = self._claim_due(len(self), ids=self.ids)
        for gateway, messages in claimed.grouped("gateway_id").items():
            messages._send_claimed(gateway)
        return claimed
