"""The inbound worker: it claims stored replies in batches, runs the pipeline on each
(``sms_interaction_pipeline.py``) in its own savepoint, then flushes the batch
(``InboundBatch``, ``tools/inbound_batch.py``): the facts its replies share, their
chatter posts, their answers, one commit per batch, one notification of the live
screens per batch (``sms_conversation_live.py``)."""

import logging
import time
from collections import defaultdict
from datetime import timedelta
from itertools import groupby

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.inbound_batch import InboundBatch
from .sms_gateway_message import _testing
from .sms_interaction import (
    BATCH_GATHER,
    BATCH_SIZE,
    COURTESY_INTERVAL,
    LINGER,
    REPLY_DAYS,
    STALE_CLAIM,
    WAKE_UP_WINDOW,
    WORKER_BUDGET,
)

_logger = logging.getLogger(__name__)


class SmsInteractionWorker(models.Model):
    """The inbound worker of ``sms.interaction`` (see the module docstring)."""

    _inherit = "sms.interaction"

    # ------------------------------------------------------------------
    # The inbound worker
    # ------------------------------------------------------------------

    @api.model
    def _cron_process_received(self, batch_size=BATCH_SIZE):
        """Process stored replies in claimed batches, oldest first; returns them.

        Each batch: the claim is committed before any work, then every reply runs the
        pipeline in its own savepoint (one that fails is marked ``failed`` alone), the
        batch's answers go out in one ``sms.sender._send`` per gateway, and the batch's
        effects are committed together with its ``processed`` marks. A worker killed
        mid-batch commits none of that batch: its claims stay ``processing`` and are
        claimed again once stale (``STALE_CLAIM``), so each reply is processed once.

        The worker goes on while replies come (up to ``WORKER_BUDGET``, then the cron
        runs it again, woken by a trigger of its own), waits ``BATCH_GATHER`` after a
        batch that was not full (during a burst it thus processes batches of about a
        second of replies: half the CPU of batches of a few), and, when none is left, lingers
        until no wake-up was booked by a webhook for ``WAKE_UP_WINDOW`` + ``LINGER``: a
        webhook that booked none relied on this run (see ``_receive``). Under tests it
        processes one batch per call.
        """
        auto_commit = not _testing()
        deadline = time.monotonic() + WORKER_BUDGET.total_seconds()
        processed = self.browse()
        while time.monotonic() < deadline:
            claimed = self._claim_received(batch_size)
            if auto_commit:
                # the claim is durable: other workers skip these numbers
                self.env.cr.commit()  # pylint: disable=invalid-commit
            if not claimed:
                if auto_commit and self._wake_up_booked(WAKE_UP_WINDOW + LINGER):
                    # the next claim sees what is stored meanwhile
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                    time.sleep(0.2)
                    continue
                break
            claimed._process_batch()
            if auto_commit:
                # One commit per batch, not per reply: a commit (a round trip and a WAL
                # flush) cost as much as a simple reply's work. Killed before it, the
                # worker leaves the whole batch to be claimed again: nothing half done.
                self.env.cr.commit()  # pylint: disable=invalid-commit
            processed |= claimed
            if auto_commit and len(claimed) < batch_size:
                # Replies trickling in during a burst would make batches of a few
                # replies, each paying the batch's fixed cost (its lookups, the
                # chatter and outbox writes): gathering for a second halved the
                # worker's CPU during a burst, for replies answered at most that later.
                time.sleep(BATCH_GATHER.total_seconds())
            if not auto_commit:
                break
        remaining = self.search_count([("pipeline_state", "=", "received")])
        if remaining and auto_commit:
            # Odoo runs the job again at once, up to 10 times, then its cron worker
            # sleeps until notified: the trigger's notification wakes it up again
            self._processing_cron()._trigger()
        self.env["ir.cron"]._notify_progress(done=len(processed), remaining=remaining)
        return processed

    @api.model
    def _wake_up_booked(self, within):
        """Whether a webhook booked a wake-up of the worker in the last ``within``."""
        cron = self._processing_cron()
        return bool(
            cron
            and self.env.execute_query(
                SQL(
                    """SELECT 1 FROM ir_cron_trigger
                        WHERE cron_id = %s AND call_at > now() AT TIME ZONE 'UTC' - %s
                        LIMIT 1""",
                    cron.id,
                    within,
                )
            )
        )

    @api.model
    def _claim_received(self, limit):
        """Claim the oldest replies to process, never one of a number whose earlier
        reply another worker is still processing (arrival order per number). Claims are
        taken one worker at a time (a transaction lock held for the claim only), so a
        claim sees the numbers the other workers hold."""
        self.flush_model()
        now = fields.Datetime.now()
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext('sms_interaction_claim'))"))
        rows = self.env.execute_query(
            SQL(
                """WITH todo AS (
                        SELECT i.id FROM sms_interaction i
                         WHERE (i.pipeline_state = 'received'
                                OR (i.pipeline_state = 'processing' AND i.claimed_at < %(stale)s))
                           AND NOT EXISTS (
                                SELECT 1 FROM sms_interaction busy
                                 WHERE busy.number = i.number
                                   AND busy.pipeline_state = 'processing'
                                   AND busy.claimed_at >= %(stale)s)
                      ORDER BY i.id
                         LIMIT %(limit)s
                           FOR UPDATE SKIP LOCKED)
                   UPDATE sms_interaction i
                      SET pipeline_state = 'processing', claimed_at = %(now)s
                     FROM todo
                    WHERE i.id = todo.id
                RETURNING i.id""",
                now=now,
                stale=now - STALE_CLAIM,
                limit=limit,
            )
        )
        self.invalidate_model(["pipeline_state", "claimed_at"])
        return self.browse(sorted(row[0] for row in rows))

    def _process_batch(self):
        """Run the pipeline on these claimed replies, each in its own savepoint, in
        arrival order, then flush their batch. Replies processed together are one
        ``InboundBatch``; a reply processed on its own is a batch of one."""
        self._resolve_senders()
        # the screens are told once per batch; read now, with the contacts just resolved
        changes = [(i.company_id.id, i.partner_id.id, i.number) for i in self]
        batch = InboundBatch(self._batch_quiet())
        for interaction in self:
            interaction._process_received(batch)
        self._flush_batch(batch)
        self.env["sms.conversation"]._notify_changed(changes, replies=True)

    @api.model
    def _flush_batch(self, batch):
        """What the replies of ``batch`` left for its end, in this order: the facts they
        share (``_record_batch``), their posts on their contacts' chatters
        (``_post_batch_on_chatter``), their answers (``_send_replies``) — an answer comes
        after the reply it answers."""
        self._record_batch(batch)
        self.browse([post.id for post in batch.posts])._post_batch_on_chatter()
        self._send_replies(batch)

    @api.model
    def _record_batch(self, batch):
        """What the batch's replies wrote alike, in a few statements rather than in each
        reply's savepoint: their ``processed`` state, the courtesy replies sent, and
        their contacts' last interaction (one UPDATE per second of arrival, oldest
        first, as dates only move forward)."""
        self.browse(batch.done)._pipeline_write(
            {"pipeline_state": "processed", "last_error": False}
        )
        self.browse(batch.courtesy_ids())._pipeline_write({"courtesy_sent": True})
        Partner = self.env["res.partner"]
        for when, partner_ids in batch.touches_by_time():
            Partner.browse(partner_ids)._sms_touch_interaction(when)

    def _process_received(self, batch):
        """Run the inbound pipeline on this claimed reply in a savepoint: a reply that
        fails is marked ``failed`` with its error and what it queued on ``batch`` is
        dropped; the others go on."""
        self.ensure_one()
        checkpoint = batch.checkpoint()
        try:
            with self.env.cr.savepoint():
                self._run_pipeline(batch)
            batch.mark_done(self.id)
        except Exception as error:  # one bad reply must not stop the others
            _logger.exception("Inbound SMS %s could not be processed", self.id)
            batch.rollback(checkpoint)
            self.env.invalidate_all()
            self._pipeline_write({"pipeline_state": "failed", "last_error": str(error)})

    @api.model
    def _send_replies(self, batch):
        """Send the answers of a batch: one ``sms.sender._send`` per gateway, in a
        savepoint. Should that call fail, each reply's answers are sent on their own,
        and a reply whose answers cannot be sent is marked ``failed``."""
        sender = self.env["sms.sender"].sudo()
        for gateway, replies in batch.answers_by(lambda reply: reply.gateway_id).items():
            try:
                with self.env.cr.savepoint():
                    sender._send([request for _i, request in replies], gateway=gateway)
                continue
            except Exception:
                _logger.exception("Answers to inbound SMS failed together, sent one by one")
            for interaction, requests in groupby(replies, key=lambda reply: reply[0]):
                try:
                    with self.env.cr.savepoint():
                        sender._send([request for _i, request in requests], gateway=gateway)
                except Exception as error:
                    _logger.exception("Answer to inbound SMS %s failed", interaction.id)
                    interaction._pipeline_write(
                        {"pipeline_state": "failed", "last_error": str(error)}
                    )

    def _resolve_senders(self):
        """The contact behind each number and the last SMS we sent it on its gateway,
        for a whole batch: one search of contacts, one query of the outbox."""
        todo = self.filtered(lambda i: not i.outbox_message_id)
        if not todo:
            return
        # the numbers are E.164 when they parsed (see _receive), as phone_sanitized is
        numbers = {i.number for i in todo if not i.partner_id}
        candidates = (
            self.env["res.partner"].sudo().search([("phone_sanitized", "in", list(numbers))])
            if numbers
            else self.env["res.partner"]
        )
        by_number = candidates.grouped("phone_sanitized")
        last_sent = {
            (gateway_id, number): outbox_id
            for gateway_id, number, outbox_id in self.env.execute_query(
                SQL(
                    """SELECT DISTINCT ON (gateway_id, number) gateway_id, number, id
                         FROM sms_gateway_message
                        WHERE (gateway_id, number) IN %s
                          AND state IN ('sent', 'delivered')
                     ORDER BY gateway_id, number, sent_at DESC, id DESC""",
                    tuple({(i.gateway_id.id, i.number) for i in todo}),
                )
            )
        }
        for interaction in todo:
            # a contact of the gateway's company or shared, never another company's
            company = interaction.company_id
            partner = interaction.partner_id or self._best_partner(
                by_number.get(interaction.number, self.env["res.partner"]).filtered(
                    lambda p, company=company: not p.company_id or p.company_id == company
                )
            )
            interaction._pipeline_write(
                {
                    "partner_id": partner.id,
                    "outbox_message_id": last_sent.get(
                        (interaction.gateway_id.id, interaction.number), False
                    ),
                }
            )

    def _batch_quiet(self):
        """What the batch knows there is nothing to look up for (``InboundBatch.quiet``),
        in five queries: the replies whose contact has no open survey request, whose
        number and contact have no journey SMS, whose number got no SMS mailing in
        ``REPLY_DAYS``, whose number got no courtesy reply since ``COURTESY_INTERVAL``
        before the batch's oldest. A contact or number with several replies in the batch
        is always looked up (an earlier reply may start a survey or a journey for it)."""
        numbers = defaultdict(int)
        partners = defaultdict(int)
        for reply in self:
            numbers[reply.number] += 1
            partners[reply.partner_id.id] += 1
        once = self.filtered(lambda r: numbers[r.number] == 1 and partners[r.partner_id.id] < 2)
        if not once:
            return {}
        found = once._batch_found()
        return {
            "survey": {r.id for r in once if r.partner_id.id not in found["surveys"]},
            "journey": {
                r.id
                for r in once
                if r.partner_id.id not in found["journey_partners"]
                and r.number not in found["journey_sms"]
                and (r.outbox_message_id.sms_uuid or "") not in found["journey_sms"]
            },
            "mailing": {r.id for r in once if r.number not in found["mailings"]},
            "courtesy": {r.id for r in once if r.number not in found["courtesies"]},
        }

    def _batch_found(self):
        """``_batch_quiet``'s five queries for these replies: the contacts with an open
        survey request, with a running journey, the numbers and SMS uuids of journey SMS,
        the numbers with a recent SMS mailing, with a recent courtesy reply."""
        partner_ids = tuple(self.partner_id.ids) or (0,)
        number_list = tuple(self.mapped("number"))
        uuids = tuple(self.outbox_message_id.mapped("sms_uuid")) or ("",)
        oldest = min(self.mapped("received_at"))

        def column(query):
            return {row[0] for row in self.env.execute_query(query)}

        return {
            "surveys": column(
                SQL(
                    """SELECT DISTINCT partner_id FROM sms_survey_request
                        WHERE state = 'open' AND partner_id IN %s""",
                    partner_ids,
                )
            ),
            "journey_partners": column(
                SQL(
                    """SELECT DISTINCT partner_id FROM sms_journey_participant
                        WHERE state = 'running' AND partner_id IN %s""",
                    partner_ids,
                )
            ),
            "journey_sms": column(
                SQL(
                    """SELECT DISTINCT m.number FROM sms_journey_trace t
                         JOIN sms_gateway_message m ON m.id = t.outbox_message_id
                        WHERE m.number IN %s
                    UNION
                       SELECT sms_uuid FROM sms_journey_trace WHERE sms_uuid IN %s""",
                    number_list,
                    uuids,
                )
            ),
            "mailings": column(
                SQL(
                    """SELECT DISTINCT sms_number FROM mailing_trace
                        WHERE trace_type = 'sms' AND sms_number IN %s AND create_date > %s""",
                    number_list,
                    oldest - timedelta(days=REPLY_DAYS),
                )
            ),
            "courtesies": column(
                SQL(
                    """SELECT DISTINCT number FROM sms_interaction
                        WHERE courtesy_sent AND number IN %s AND received_at > %s""",
                    number_list,
                    oldest - COURTESY_INTERVAL,
                )
            ),
        }

    @api.model
    def _best_partner(self, partners):
        # Several contacts can share a number: prefer companies' people with a salesperson,
        # then the most recently updated one.
        return partners.sorted(lambda p: (bool(p.user_id), p.write_date), reverse=True)[:1]

    # ------------------------------------------------------------------
    # The batch on its contacts' chatters
    # ------------------------------------------------------------------

    def _post_batch_on_chatter(self):
        """Post a batch of replies on their contacts' chatters: what ``message_post``
        writes (the same values, Odoo's ``_message_create``), created in one go, then
        ``_notify_thread`` for the messages someone is to be told about (the salesperson,
        followers of the contact's discussions) — one by one, as Odoo notifies. The
        salesperson's email is queued, not sent in the batch (the mail queue's cron
        sends it). A contact with two replies in the batch, or a batch that fails, is
        posted reply by reply (``_post_on_chatter``)."""
        replies = self.filtered("partner_id")
        if not replies:
            return
        counts = defaultdict(int)
        for reply in replies:
            counts[reply.partner_id.id] += 1
        once = replies.filtered(lambda r: counts[r.partner_id.id] == 1)
        try:
            if once:
                with self.env.cr.savepoint():
                    once._post_once_on_chatter()
            alone = replies - once
        except Exception:
            _logger.exception("Inbound SMS posted one by one: the batch failed")
            self.env.invalidate_all()
            alone = replies
        for reply in alone:
            try:
                with self.env.cr.savepoint():
                    reply.with_context(mail_notify_force_send=False)._post_on_chatter()
            except Exception as error:
                _logger.exception("Inbound SMS %s could not be posted", reply.id)
                self.env.invalidate_all()
                reply._pipeline_write({"pipeline_state": "failed", "last_error": str(error)})

    def _post_once_on_chatter(self):
        """``_post_batch_on_chatter`` for replies of distinct contacts: each as written by
        its contact, telling its salesperson (``mail.thread._sms_journey_post_batch``)."""
        partners = (
            self.partner_id.sudo()
            .with_context(mail_create_nosubscribe=True, mail_notify_force_send=False)
            .browse([reply.partner_id.id for reply in self])
        )
        messages = partners._sms_journey_post_batch(
            [reply._chatter_body() for reply in self],
            authors=partners.ids,
            recipients=[partner.user_id.partner_id.ids for partner in partners],
        )
        for reply, message in zip(self, messages, strict=True):
            reply._pipeline_write({"mail_message_id": message.id})
