import logging
import time
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from itertools import groupby

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, plaintext2html

from ..tools import phone as phone_tools
from ..tools import results
from .isolation import run_isolated
from .sms_gateway_message import _testing
from .sms_sender import SmsRequest

_logger = logging.getLogger(__name__)

# A contact who keeps writing things we do not understand gets one courtesy reply a day,
# not one per message.
COURTESY_INTERVAL = timedelta(hours=24)
# A claim older than this belongs to a worker that died: the reply is processed again
# (its earlier attempt was rolled back with the worker's transaction).
STALE_CLAIM = timedelta(minutes=10)
# The webhook books at most one wake-up of the inbound worker per this window (see
# ``_receive``); the worker lingers until no wake-up was booked for the window and LINGER.
WAKE_UP_WINDOW = timedelta(seconds=1)
LINGER = timedelta(seconds=2)
# Replies a worker claims and commits at once, and how long one run goes on. Odoo runs a
# job up to 10 times in a row in one unit of work of a cron worker, which
# --limit-time-real (120 s) and --limit-time-cpu (60 s) bound by default: 10 runs of
# 5 s stay well below.
BATCH_SIZE = 200
WORKER_BUDGET = timedelta(seconds=5)
#: How long the worker waits after a batch that was not full (see _cron_process_received)
BATCH_GATHER = timedelta(seconds=1)
# A reply answers an SMS mailing sent to the number at most this many days before (the
# campaign report's horizon).
REPLY_DAYS = results.DAYS
# What staff may change on a received SMS: the contact it came from and whether someone
# handled it. Every other field is what the webhook stored or what the pipeline made of
# it: facts, written only by the pipeline's own methods (``_pipeline_write``).
STAFF_FIELDS = frozenset({"partner_id", "state"})
# The reply's place in the inbound pipeline: what would make the worker run it (again).
PIPELINE_FIELDS = frozenset(
    {"pipeline_state", "claimed_at", "last_error", "reprocessed_by_id", "reprocessed_at"}
)


class ReplyQueue:
    """The answers of replies being processed, sent together at the end of a batch:
    ``replies`` is a list of (interaction, SmsRequest), ``posts`` the interactions to
    post on their contact's chatter first. The batch being processed is found with
    :func:`current_reply_queue`."""

    def __init__(self, quiet=None, lookups=None):
        self.replies = []
        self.posts = []  # interactions to post on their contact's chatter
        # written for the whole batch once its replies ran (``_record_batch``): the
        # replies processed, those answered with the courtesy reply, and the
        # (contact, time) of each reply for the customer facts
        self.done = []
        self.courtesy = []
        self.touches = []
        # {"journey" / "mailing" / "survey" / "courtesy": ids of the batch's replies for
        # which the batch knows there is nothing of that kind to look up (``_batch_quiet``)
        self.quiet = quiet if quiet is not None else {}
        # what the batch's replies look up alike, once per batch (e.g. the keyword
        # rules of a company and day, ``sms.keyword.rule._candidates_for``)
        self.lookups = lookups if lookups is not None else {}

    def _lists(self):
        return self.replies, self.posts, self.done, self.courtesy, self.touches

    def mark(self):
        """Where the queue stands, to drop what a failed reply added (``discard``)."""
        return tuple(len(items) for items in self._lists())

    def discard(self, mark):
        for items, length in zip(self._lists(), mark, strict=True):
            del items[length:]


# The inbound worker's batch being processed, set only around its loop
# (``_process_batch``). Not a context key: a client's JSON-RPC context could set one and
# make the pipeline hold, drop or misdirect its answers.
_REPLY_QUEUE = ContextVar("sms_journey_reply_queue", default=None)


def current_reply_queue():
    """The :class:`ReplyQueue` of the batch the inbound worker is processing in this
    thread, else None (a reply processed on its own answers at once)."""
    return _REPLY_QUEUE.get()


@contextmanager
def _processing(queue):
    token = _REPLY_QUEUE.set(queue)
    try:
        yield queue
    finally:
        _REPLY_QUEUE.reset(token)


class SmsInteraction(models.Model):
    """One SMS received from a contact (or from an unknown number).

    Stored by the inbound webhook, never twice for the same provider message
    (``_receive``: one INSERT … ON CONFLICT DO NOTHING, then the worker is woken up), and
    processed right after by the ``_cron_process_received`` worker, in arrival order per
    number. ``pipeline_state`` is the row's lifecycle: ``received`` (stored, answered to
    the provider) → ``processing`` (claimed by a worker, claim committed; a claim older
    than ``STALE_CLAIM`` is taken again) → ``processed`` (or ``failed``, with
    ``last_error``; the other replies go on).

    ``_process_received`` is the whole inbound pipeline, step by step: consent keywords first,
    then the reply lands on the partner's chatter where sales staff read the whole SMS
    thread, then the customer facts, the journeys the reply answers (exit on STOP), an
    open survey question, and finally keyword rules (else a survey clarification, else
    the courtesy reply). A reply with a ``consent_action`` never answers a survey nor
    runs a rule. ``_reply`` is the one method that answers.

    A received SMS is a fact: ``write`` lets staff change only ``STAFF_FIELDS`` (link a
    contact, mark handled), for everybody including the superuser; the webhook and the
    worker write the rest through ``_pipeline_write``, which no client can call. A
    forged START written into a reply, or a processed reply put back in the queue, is
    thus refused. Running a failed reply again is a manager's ``action_reprocess``,
    which records who asked for it.
    """

    _name = "sms.interaction"
    _description = "SMS Interaction"
    _order = "received_at desc, id desc"
    _rec_name = "number"
    _check_company_auto = True

    # the contact: of the gateway's company or shared, never another company's
    partner_id = fields.Many2one("res.partner", index="btree_not_null", check_company=True)
    number = fields.Char(required=True, index=True, readonly=True)
    recipient = fields.Char("Our number", readonly=True)
    body = fields.Text(readonly=True)
    received_at = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    gateway_id = fields.Many2one("sms.gateway", required=True, index=True, readonly=True)
    company_id = fields.Many2one(related="gateway_id.company_id", store=True)
    provider_message_id = fields.Char("Provider ID", readonly=True)
    media_urls = fields.Text(
        "Media",
        readonly=True,
        help="Links to the pictures or files of an MMS, one a line with its content type, "
        "as the provider keeps them (not downloaded).",
    )
    outbox_message_id = fields.Many2one(
        "sms.gateway.message",
        "Replying to",
        readonly=True,
        help="The last SMS we sent to this number through this gateway.",
    )
    consent_action = fields.Selection(
        [
            ("opt_out", "Opt-out"),
            ("opt_in", "Opt-in"),
            ("help", "Help"),
            ("confirm", "Opt-in confirmed"),
        ],
        readonly=True,
    )
    state = fields.Selection(
        [("new", "New"), ("handled", "Handled")], default="new", required=True, index=True
    )
    mail_message_id = fields.Many2one("mail.message", "Chatter message", readonly=True)
    matched_rule_id = fields.Many2one(
        "sms.keyword.rule", "Keyword rule", readonly=True, index="btree_not_null"
    )
    matched_keyword = fields.Char("Keyword", readonly=True)
    courtesy_sent = fields.Boolean("Courtesy reply sent", readonly=True)
    reminded = fields.Boolean(
        "Salesperson reminded", readonly=True, help="An activity asks to answer it."
    )
    sms_journey_participant_id = fields.Many2one(
        "sms.journey.participant", "Journey participant", readonly=True, index="btree_not_null"
    )
    sms_journey_id = fields.Many2one(
        "sms.journey", "Journey", readonly=True, index="btree_not_null"
    )
    pipeline_state = fields.Selection(
        [
            ("received", "Received"),
            ("processing", "Processing"),
            ("processed", "Processed"),
            ("failed", "Failed"),
        ],
        default="processed",
        required=True,
        readonly=True,
        help="Stored by the webhook (received), then handled by the inbound worker.",
    )
    claimed_at = fields.Datetime(readonly=True)
    last_error = fields.Text(readonly=True)
    sms_journey_trace_id = fields.Many2one(
        "sms.journey.trace", "Answers journey SMS", readonly=True, index="btree_not_null"
    )
    mailing_trace_id = fields.Many2one(
        "mailing.trace", "Answers mailing SMS", readonly=True, index="btree_not_null"
    )
    reprocessed_by_id = fields.Many2one(
        "res.users",
        "Re-run by",
        readonly=True,
        help="The manager who last sent this failed reply back to the inbound worker.",
    )
    reprocessed_at = fields.Datetime("Re-run on", readonly=True)

    _sql_constraints = [
        (
            "provider_message_unique",
            "unique(gateway_id, provider_message_id)",
            "This provider message was already received.",
        ),
    ]

    def init(self):
        # the worker's claim reads only the rows still to process
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_interaction_pipeline_todo_idx
                   ON sms_interaction (id)
                WHERE pipeline_state IN ('received', 'processing')"""
        )

    @api.model
    def _receive(self, gateway, inbound):
        """Store an inbound SMS exactly once and wake the inbound worker up; returns the
        interaction. This is all the webhook does: what the reply means is worked out by
        ``_cron_process_received`` right after, outside the provider's request.

        One statement stores the reply and, when no wake-up was booked in the last
        ``WAKE_UP_WINDOW``, books one (the ``ir.cron.trigger`` row that Odoo's
        ``ir.cron._trigger`` writes; the cron workers are notified after the commit).
        A burst of replies thus costs one trigger and one NOTIFY per second, not one
        per reply (an ORM create, a read of the cron and a connection to the
        ``postgres`` database each, which halved the webhook's rate). A reply that
        books nothing is still processed: the worker stops only once no wake-up was
        booked for ``WAKE_UP_WINDOW`` + ``LINGER`` (see ``_cron_process_received``).
        """
        number = phone_tools.try_normalize(inbound.sender) or inbound.sender
        now = fields.Datetime.now()
        uid = self.env.uid
        cron = self._processing_cron()
        rows = self.env.execute_query(
            SQL(
                """WITH stored AS (
                        INSERT INTO sms_interaction
                               (number, recipient, body, received_at, gateway_id, company_id,
                                provider_message_id, state, pipeline_state,
                                create_uid, create_date, write_uid, write_date)
                        VALUES (%(number)s, %(recipient)s, %(body)s, %(now)s, %(gateway)s,
                                %(company)s, %(provider_id)s, 'new', 'received',
                                %(uid)s, %(now)s, %(uid)s, %(now)s)
                        ON CONFLICT (gateway_id, provider_message_id) DO NOTHING
                        RETURNING id),
                   woken AS (
                        INSERT INTO ir_cron_trigger
                               (cron_id, call_at, create_uid, create_date, write_uid, write_date)
                        SELECT c.id, now() AT TIME ZONE 'UTC', %(uid)s, %(now)s, %(uid)s, %(now)s
                          FROM ir_cron c
                         WHERE c.id = %(cron)s AND c.active
                           AND EXISTS (SELECT FROM stored)
                           AND NOT EXISTS (
                                SELECT FROM ir_cron_trigger t
                                 WHERE t.cron_id = c.id
                                   AND t.call_at > now() AT TIME ZONE 'UTC' - %(window)s)
                        RETURNING id)
                   SELECT (SELECT id FROM stored), EXISTS (SELECT FROM woken)""",
                number=number,
                recipient=inbound.recipient,
                body=inbound.body,
                now=now,
                gateway=gateway.id,
                company=gateway._webhook_company_id(),
                provider_id=inbound.provider_message_id,
                uid=uid,
                cron=cron.id or 0,
                window=WAKE_UP_WINDOW,
            )
        )
        interaction_id, woken = rows[0]
        if not interaction_id:  # the provider retried a message we already have
            return self._find_received(gateway, inbound)
        if woken:
            # as ir.cron._trigger does for a trigger due now
            self.env.cr.postcommit.add(cron._notifydb)
        return self.browse(interaction_id)

    @api.model
    def _processing_cron(self):
        """The inbound worker's cron, from the cached xml id (``env.ref`` would query the
        row on each webhook; a missing cron books no wake-up)."""
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "sms_journey.ir_cron_sms_interaction_process", raise_if_not_found=False
        )
        return self.env["ir.cron"].sudo().browse(cron_id or ())

    @api.model
    def _find_received(self, gateway, inbound):
        """The interaction already recorded for this provider message, if any."""
        return self.search(
            [
                ("gateway_id", "=", gateway.id),
                ("provider_message_id", "=", inbound.provider_message_id),
            ],
            limit=1,
        )

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
                self.env.cr.commit()  # the claim is durable: other workers skip these numbers
            if not claimed:
                if auto_commit and self._wake_up_booked(WAKE_UP_WINDOW + LINGER):
                    self.env.cr.commit()  # the next claim sees what is stored meanwhile
                    time.sleep(0.2)
                    continue
                break
            claimed._process_batch()
            if auto_commit:
                # One commit per batch, not per reply: a commit (a round trip and a WAL
                # flush) cost as much as a simple reply's work. Killed before it, the
                # worker leaves the whole batch to be claimed again: nothing half done.
                self.env.cr.commit()
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
        arrival order; then post them on their contacts' chatters together
        (``_post_batch_on_chatter``) and send their answers together
        (``_send_replies``), in that order: an answer comes after the reply it answers."""
        self._resolve_senders()
        queue = ReplyQueue(self._batch_quiet())
        with _processing(queue):
            for interaction in self:
                interaction._process_received(queue)
        self._record_batch(queue)
        self.browse([post.id for post in queue.posts])._post_batch_on_chatter()
        self._send_replies(queue)

    @api.model
    def _record_batch(self, queue):
        """What the batch's replies wrote alike, in a few statements rather than in each
        reply's savepoint: their ``processed`` state, the courtesy replies sent, and
        their contacts' last interaction (one UPDATE per second of arrival, oldest
        first, as dates only move forward)."""
        self.browse(queue.done)._pipeline_write(
            {"pipeline_state": "processed", "last_error": False}
        )
        courtesy = self.browse([reply.id for reply in queue.courtesy])
        courtesy._pipeline_write({"courtesy_sent": True})
        partners_at = defaultdict(set)
        for partner, when in queue.touches:
            partners_at[when].add(partner.id)
        Partner = self.env["res.partner"]
        for when in sorted(partners_at):
            Partner.browse(sorted(partners_at[when]))._sms_touch_interaction(when)

    def _process_received(self, queue):
        """Run the inbound pipeline on this claimed reply in a savepoint: a reply that
        fails is marked ``failed`` with its error and what it added to the batch's
        ``queue`` is dropped; the others go on."""
        self.ensure_one()
        mark = queue.mark()
        try:
            with self.env.cr.savepoint():
                self._run_pipeline()
            queue.done.append(self.id)
        except Exception as error:  # one bad reply must not stop the others
            _logger.exception("Inbound SMS %s could not be processed", self.id)
            queue.discard(mark)
            self.env.invalidate_all()
            self._pipeline_write({"pipeline_state": "failed", "last_error": str(error)})

    @api.model
    def _send_replies(self, queue):
        """Send the answers of a batch: one ``sms.sender._send`` per gateway, in a
        savepoint. Should that call fail, each reply's answers are sent on their own,
        and a reply whose answers cannot be sent is marked ``failed``."""
        by_gateway = defaultdict(list)
        for interaction, request in queue.replies:
            by_gateway[interaction.gateway_id].append((interaction, request))
        sender = self.env["sms.sender"].sudo()
        for gateway, replies in by_gateway.items():
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

    def _run_pipeline(self):
        """What a reply means, step by step (see the class docstring); its contact and
        the SMS it answers were resolved with its batch (``_resolve_senders``)."""
        # From here on every answer (consent confirmations, HELP, survey thanks, keyword
        # rule replies, the courtesy reply) is written in the contact's language.
        self.with_context(lang=self._answer_lang())._answer()

    def _answer_lang(self):
        """The language of the answers to this reply: the contact's, else the language
        of the company the SMS came in for, else English."""
        company = self.company_id or self.env.company
        queue = current_reply_queue()
        if queue is None:
            return self.partner_id._sms_lang(company)
        # alike for the replies of a batch with the same language and company
        key = ("lang", self.partner_id.lang or False, company.id)
        if key not in queue.lookups:
            queue.lookups[key] = self.partner_id._sms_lang(company)
        return queue.lookups[key]

    def _answer(self):
        """The pipeline after the sender is known, in the language of the answers."""
        self._handle_consent_keyword()
        self._post_on_chatter()
        self._touch_contact()
        # Journeys before the survey: an answer records the journey the reply belongs to.
        self._apply_journeys()
        if self.consent_action:
            return
        if self._answer_open_survey():
            return
        if not self._apply_keyword_rules():
            if not self._clarify_open_survey():
                self._send_courtesy_reply()

    def _touch_contact(self):
        """The reply is an interaction of its contact (customer facts); the inbound
        worker records those of a batch together (``_record_batch``)."""
        queue = current_reply_queue()
        if queue is None:
            self.partner_id._sms_touch_interaction(self.received_at)
        elif self.partner_id:
            queue.touches.append((self.partner_id, self.received_at))

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
        """What the batch knows there is nothing to look up for, in five queries: the
        replies whose contact has no open survey request, whose number and contact have
        no journey SMS, whose number got no SMS mailing in ``REPLY_DAYS``, whose number
        got no courtesy reply since ``COURTESY_INTERVAL`` before the batch's oldest. A
        contact or number with several replies in the batch is always looked up (an
        earlier reply may start a survey or a journey for it)."""
        numbers = defaultdict(int)
        partners = defaultdict(int)
        for reply in self:
            numbers[reply.number] += 1
            partners[reply.partner_id.id] += 1
        once = self.filtered(lambda r: numbers[r.number] == 1 and partners[r.partner_id.id] < 2)
        if not once:
            return {}
        partner_ids = tuple(once.partner_id.ids) or (0,)
        number_list = tuple(once.mapped("number"))
        uuids = tuple(once.outbox_message_id.mapped("sms_uuid")) or ("",)

        def column(query):
            return {row[0] for row in self.env.execute_query(query)}

        surveys = column(
            SQL(
                """SELECT DISTINCT partner_id FROM sms_survey_request
                    WHERE state = 'open' AND partner_id IN %s""",
                partner_ids,
            )
        )
        journey_partners = column(
            SQL(
                """SELECT DISTINCT partner_id FROM sms_journey_participant
                    WHERE state = 'running' AND partner_id IN %s""",
                partner_ids,
            )
        )
        journey_sms = column(
            SQL(
                """SELECT DISTINCT m.number FROM sms_journey_trace t
                     JOIN sms_gateway_message m ON m.id = t.outbox_message_id
                    WHERE m.number IN %s
                UNION
                   SELECT sms_uuid FROM sms_journey_trace WHERE sms_uuid IN %s""",
                number_list,
                uuids,
            )
        )
        mailings = column(
            SQL(
                """SELECT DISTINCT sms_number FROM mailing_trace
                    WHERE trace_type = 'sms' AND sms_number IN %s AND create_date > %s""",
                number_list,
                min(once.mapped("received_at")) - timedelta(days=REPLY_DAYS),
            )
        )
        courtesies = column(
            SQL(
                """SELECT DISTINCT number FROM sms_interaction
                    WHERE courtesy_sent AND number IN %s AND received_at > %s""",
                number_list,
                min(once.mapped("received_at")) - COURTESY_INTERVAL,
            )
        )
        return {
            "survey": {r.id for r in once if r.partner_id.id not in surveys},
            "journey": {
                r.id
                for r in once
                if r.partner_id.id not in journey_partners
                and r.number not in journey_sms
                and (r.outbox_message_id.sms_uuid or "") not in journey_sms
            },
            "mailing": {r.id for r in once if r.number not in mailings},
            "courtesy": {r.id for r in once if r.number not in courtesies},
        }

    def _batch_knows_none(self, kind):
        """Whether the inbound worker's batch knows this reply has nothing of ``kind``
        to look up (see ``_batch_quiet``)."""
        queue = current_reply_queue()
        return queue is not None and self.id in queue.quiet.get(kind, ())

    @api.model
    def _best_partner(self, partners):
        # Several contacts can share a number: prefer companies' people with a salesperson,
        # then the most recently updated one.
        return partners.sorted(lambda p: (bool(p.user_id), p.write_date), reverse=True)[:1]

    def _handle_consent_keyword(self):
        family = self.env["sms.consent.keyword"]._classify(self.body or "")
        if not family:
            return
        partner_model = self.env["res.partner"]
        proof = _("SMS from %(number)s: “%(body)s”", number=self.number, body=self.body)
        company = self.gateway_id.company_id
        brand = company.sms_brand_name or company.name
        if family == "opt_out":
            self._pipeline_write({"consent_action": "opt_out"})
            partner_model._sms_consent_opt_out_number(
                self.number, "keyword", proof, self.partner_id, interaction=self, company=company
            )
            # Essential: the confirmation goes out although the number is now blacklisted.
            self._reply(
                _(
                    "%(brand)s: you are unsubscribed and will receive no more SMS. "
                    "Reply START to subscribe again.",
                    brand=brand,
                ),
                kind="essential",
            )
        elif family == "opt_in":
            self._pipeline_write({"consent_action": "opt_in"})
            partner_model._sms_consent_opt_in_number(
                self.number, "keyword", proof, self.partner_id, interaction=self, company=company
            )
            self._reply(
                _(
                    "%(brand)s: you are subscribed to our SMS again. Reply STOP to opt out.",
                    brand=brand,
                ),
            )
        elif family == "help":
            self._pipeline_write({"consent_action": "help"})
            # CTIA: HELP is answered even to a number that sent STOP
            self._reply(self._help_text(company), kind="essential")
        elif family == "confirm" and self._confirm_double_opt_in(proof):
            self._pipeline_write({"consent_action": "confirm"})
            self._reply(
                _(
                    "%(brand)s: thank you, your SMS subscription is confirmed. "
                    "Reply STOP to opt out.",
                    brand=brand,
                )
            )

    def _confirm_double_opt_in(self, proof):
        """A YES from the number: confirms the question staff asked its contact (pending)
        or a website form texted to it. False when nobody asked."""
        if self.partner_id.sms_consent_state == "pending":
            self.partner_id._sms_consent_set(
                "opted_in", "keyword", proof, self.number, interaction=self
            )
            return True
        return bool(
            self.env["sms.consent.request"]
            .sudo()
            ._confirm_from_number(self.number, self.gateway_id.company_id, proof, self)
        )

    @api.model
    def _help_text(self, company):
        brand = company.sms_brand_name or company.name
        support = company.sms_support_contact or company.email or company.phone or ""
        cap = company.sms_frequency_cap
        frequency = (
            _("Up to %(n)s msg per %(h)s h.", n=cap, h=company.sms_frequency_cap_hours)
            if cap > 0
            else _("Msg frequency varies.")
        )
        return _(
            "%(brand)s: %(frequency)s Msg & data rates may apply. Help: %(support)s. "
            "Reply STOP to opt out.",
            brand=brand,
            frequency=frequency,
            support=support,
        )

    def _reply(self, body, kind="transactional", template=None):
        """Answer on the number the contact wrote from, through the gateway the SMS came
        in on (and so for its company), logged on the contact's chatter as OdooBot's —
        not the webhook's public user's. The sending policy applies as to any SMS.

        In the inbound worker the answer waits for the end of the batch
        (:func:`current_reply_queue`) and None is returned."""
        self.ensure_one()
        request = SmsRequest(
            body=body,
            partner=self.partner_id,
            number=self.number,
            kind=kind,
            template=template,
            author_id=self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root"),
        )
        queue = current_reply_queue()
        if queue is not None:  # the worker sends a batch's answers together
            queue.replies.append((self, request))
            return None
        return self.env["sms.sender"].sudo()._send([request], gateway=self.gateway_id)[0]

    def _post_on_chatter(self):
        """Post the reply on the partner's chatter as written by the partner, and tell
        the salesperson (in the inbound worker: with its batch, ``_post_batch_on_chatter``)."""
        if not self.partner_id:
            return
        queue = current_reply_queue()
        if queue is not None:
            queue.posts.append(self)
            return
        partner = self.partner_id
        message = (
            partner.with_context(mail_create_nosubscribe=True)
            .sudo()
            .message_post(
                body=self._chatter_body(),
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                partner_ids=partner.user_id.partner_id.ids,
            )
        )
        self._pipeline_write({"mail_message_id": message.id})

    def _chatter_body(self):
        return Markup('<i class="fa fa-mobile" title="%s"></i> ') % _("SMS") + plaintext2html(
            self.body or ""
        )

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
        """``_post_batch_on_chatter`` for replies of distinct contacts."""
        partners = (
            self.partner_id.sudo()
            .with_context(mail_create_nosubscribe=True, mail_notify_force_send=False)
            .browse([reply.partner_id.id for reply in self])
        )
        company = self.env.company
        alias_domains = partners._mail_get_alias_domains(default_company=company)
        companies = partners._mail_get_companies(default=company)
        reply_to = partners._notify_get_reply_to(default=False)
        subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
        followed = {
            row[0]
            for row in self.env.execute_query(
                SQL(
                    """SELECT DISTINCT f.res_id FROM mail_followers f
                         JOIN mail_followers_mail_message_subtype_rel rel
                           ON rel.mail_followers_id = f.id
                        WHERE f.res_model = 'res.partner' AND f.res_id IN %s
                          AND rel.mail_message_subtype_id = %s
                          AND f.partner_id != f.res_id""",
                    tuple(partners.ids),
                    subtype_id,
                )
            )
        }
        values = []
        for reply, partner in zip(self, partners, strict=True):
            author_id, email_from = partner._message_compute_author(
                partner.id, None, raise_on_email=False
            )
            values.append(
                {
                    "email_add_signature": True,
                    "record_name": partner.display_name,
                    "author_id": author_id,
                    "author_guest_id": False,
                    "email_from": email_from,
                    "model": partner._name,
                    "res_id": partner.id,
                    "body": reply._chatter_body(),
                    "message_type": "comment",
                    # no query on contacts: their chatter is not a flat thread
                    "parent_id": partner._message_compute_parent_id(False),
                    "subject": False,
                    "subtype_id": subtype_id,
                    "partner_ids": partner.user_id.partner_id.ids,
                    "record_alias_domain_id": alias_domains[partner.id].id,
                    "record_company_id": companies[partner.id].id,
                    "reply_to": reply_to[partner.id] or email_from,
                    "attachment_ids": [],
                }
            )
        messages = partners._message_create(values)
        for reply, partner, message, vals in zip(self, partners, messages, values, strict=True):
            reply._pipeline_write({"mail_message_id": message.id})
            partner._message_post_after_hook(message, vals)
            if vals["partner_ids"] or partner.id in followed:
                partner._notify_thread(message, vals)

    # ------------------------------------------------------------------
    # Journeys: the journey SMS this reply answers
    # ------------------------------------------------------------------

    def _apply_journeys(self):
        """Mark the SMS this reply answers as replied — the latest one sent to the
        number, journey step or SMS mailing; on STOP, every running participant behind
        the number leaves its journey."""
        self.ensure_one()
        trace = (
            self.env["sms.journey.trace"]
            if self._batch_knows_none("journey")
            else self._find_journey_trace()
        )
        mailing_trace = (
            self.env["mailing.trace"]
            if self._batch_knows_none("mailing")
            else self._find_mailing_trace(trace)
        )
        if mailing_trace:
            mailing_trace.set_replied()
            vals = {"mailing_trace_id": mailing_trace.id}
            if self.consent_action == "opt_out":
                mailing_trace.sms_opted_out_at = self.received_at
            self._pipeline_write(vals)
        elif trace:
            trace._mark_replied(self)
            self._pipeline_write(
                {
                    "sms_journey_participant_id": trace.participant_id.id,
                    "sms_journey_id": trace.journey_id.id,
                    "sms_journey_trace_id": trace.id,
                }
            )
            if self.consent_action == "opt_out":
                trace.opted_out_at = self.received_at
            trace.partner_id._sms_touch_interaction(self.received_at)
        if self.consent_action == "opt_out":
            # the number opted out: every contact sharing it leaves, not only the
            # one the reply was matched to
            partners = self.partner_id | trace.partner_id
            partners |= (
                self.env["res.partner"]
                .sudo()
                ._sms_partners_for_number(self.number, self.gateway_id.company_id)
            )
            self.env["sms.journey.participant"].sudo().search(
                [("partner_id", "in", partners.ids), ("state", "=", "running")]
            )._on_stop()

    def _find_mailing_trace(self, journey_trace):
        """The SMS mailing trace this reply answers: the latest SMS of a mailing to the
        number within 10 days, when it is more recent than ``journey_trace``."""
        if not self.number:
            return self.env["mailing.trace"]
        since = self.received_at - timedelta(days=REPLY_DAYS)
        if journey_trace:
            since = max(since, journey_trace.executed_at)
        return (
            self.env["mailing.trace"]
            .sudo()
            .search(
                [
                    ("trace_type", "=", "sms"),
                    ("sms_number", "=", self.number),
                    ("create_date", ">", since),
                    ("create_date", "<=", self.received_at),
                ],
                order="create_date desc, id desc",
                limit=1,
            )
        )

    def _find_journey_trace(self):
        """The journey SMS this reply answers: the outbox row it replies to, else the
        previous SMS of the partner's running participant, else the latest journey SMS
        to the number (an unknown or ambiguous sender)."""
        Trace = self.env["sms.journey.trace"].sudo()
        trace = Trace
        if self.outbox_message_id:
            trace = Trace.search([("sms_uuid", "=", self.outbox_message_id.sms_uuid)], limit=1)
        if not trace and self.partner_id:
            participant = (
                self.env["sms.journey.participant"]
                .sudo()
                .search(
                    [("partner_id", "=", self.partner_id.id), ("state", "=", "running")],
                    order="id desc",
                    limit=1,
                )
            )
            trace = participant._previous_sms_trace() if participant else Trace
        if not trace and self.number:
            trace = Trace.search(
                [
                    ("state", "=", "sent"),
                    ("outbox_message_id.number", "=", self.number),
                    ("participant_id.state", "=", "running"),
                ],
                order="id desc",
                limit=1,
            )
        return trace

    # ------------------------------------------------------------------
    # Surveys: a valid answer to the contact's open question comes before keyword
    # rules ("5" or "YES" then mean the answer, not a keyword); an invalid one goes to
    # the keyword rules and, if none matches, the contact is asked once to clarify
    # instead of getting the courtesy reply.
    # ------------------------------------------------------------------

    def _answer_open_survey(self):
        """Record the reply as the answer to the contact's open survey question; True
        when it was a valid answer."""
        if self._batch_knows_none("survey"):
            return False
        request = self.env["sms.survey.request"].sudo()._open_for(self)
        if not request:
            return False
        return bool(self._record_survey_answer(request.question_id, request))

    def _record_survey_answer(self, question, request=None):
        """Store the reply as an answer to ``question`` if it is a valid one; returns the
        answer (or None). Used by open requests and by the keyword rule action."""
        self.ensure_one()
        parsed = question._parse(self.body or "")
        if not parsed:
            return None
        answer = (
            self.env["sms.survey.answer"]
            .sudo()
            .create(
                {
                    "question_id": question.id,
                    "partner_id": self.partner_id.id,
                    "value": parsed.value,
                    "value_number": parsed.number,
                    "answered_at": self.received_at,
                    "interaction_id": self.id,
                    "journey_id": self.sms_journey_id.id,
                }
            )
        )
        if request:
            request.write({"state": "answered", "answer_id": answer.id})
        if question.thanks:
            self._reply(question.thanks)
        return answer

    def _clarify_open_survey(self):
        """Ask once to clarify an answer the open survey question did not understand;
        True when the question was asked again."""
        if self._batch_knows_none("survey"):
            return False
        request = self.env["sms.survey.request"].sudo()._open_for(self)
        if not request or request.clarification_sent:
            return False
        request.clarification_sent = True
        self._reply(request.question_id._clarification_text())
        return True

    # ------------------------------------------------------------------
    # Keyword rules and the courtesy reply
    # ------------------------------------------------------------------

    def _apply_keyword_rules(self):
        """Run the winning keyword rule; True when a rule matched."""
        self.ensure_one()
        rule, keyword = self.env["sms.keyword.rule"]._find_for_interaction(self)
        if not rule:
            return False
        self._pipeline_write({"matched_rule_id": rule.id, "matched_keyword": keyword})
        # a broken rule is logged on it; the reply stays matched to it
        run_isolated(rule, _("Keyword rule"), rule._run_actions, self)
        return True

    def _send_courtesy_reply(self):
        """Answer with the company's courtesy text, unless this number already got one
        in the last 24 hours."""
        self.ensure_one()
        text = (self.company_id or self.env.company)._sms_courtesy_reply()
        if not text:
            return False
        queue = current_reply_queue()
        already = not self._batch_knows_none("courtesy") and (
            (queue is not None and any(r.number == self.number for r in queue.courtesy))
            or self.search_count(
                [
                    ("number", "=", self.number),
                    ("courtesy_sent", "=", True),
                    ("received_at", ">", self.received_at - COURTESY_INTERVAL),
                    ("id", "!=", self.id),
                ],
                limit=1,
            )
        )
        if already:
            return False
        if queue is not None:
            queue.courtesy.append(self)  # marked with its batch (``_record_batch``)
        else:
            self._pipeline_write({"courtesy_sent": True})
        self._reply(text)
        return True

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    @api.model
    def _cron_remind_unanswered(self):
        """An activity for the salesperson of each contact whose reply waited unread
        longer than the company's working hours setting (one per contact, once)."""
        now = fields.Datetime.now()
        for company in self.env["res.company"].search([("sms_reply_reminder_hours", ">", 0)]):
            hours = company.sms_reply_reminder_hours
            calendar = company.resource_calendar_id
            # working hours last at least as long as hours: only those can be due
            waiting = self.search(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "new"),
                    ("reminded", "=", False),
                    ("partner_id.user_id", "!=", False),
                    ("received_at", "<=", now - timedelta(hours=hours)),
                ],
                order="received_at",
            )
            due = waiting.browse(
                [
                    reply.id
                    for reply in waiting
                    if not calendar or calendar.plan_hours(hours, reply.received_at) <= now
                ]
            )
            for partner, replies in due.grouped("partner_id").items():
                partner.activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=partner.user_id.id,
                    summary=_("Answer the SMS of %s", partner.display_name),
                    note=plaintext2html(replies[-1].body or ""),
                )
            due._pipeline_write({"reminded": True})

    def action_mark_handled(self):
        self.write({"state": "handled"})

    def action_create_partner(self):
        """Unknown sender: create a contact from the number and attach the reply."""
        self.ensure_one()
        partner = self.env["res.partner"].create({"name": self.number, "mobile": self.number})
        self.link_partner(partner)
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": partner.id,
            "view_mode": "form",
        }

    def action_reprocess(self):
        """A manager sends failed replies back to the inbound worker, which runs the whole
        pipeline on them again (the button of a failed reply). Who asked and when is
        kept on the reply. Only failed replies: a processed one would apply its
        keywords twice."""
        if not self.env.user.has_group("sms_journey.group_sms_journey_manager"):
            raise AccessError(_("Only SMS journey managers can run a received SMS again."))
        self.check_access("write")
        if any(reply.pipeline_state != "failed" for reply in self):
            raise UserError(_("Only a received SMS whose processing failed can be run again."))
        self._pipeline_write(
            {
                "pipeline_state": "received",
                "claimed_at": False,
                "last_error": False,
                "reprocessed_by_id": self.env.uid,
                "reprocessed_at": fields.Datetime.now(),
            }
        )
        _logger.info("Inbound SMS %s sent back to the worker by user %s", self.ids, self.env.uid)
        self._processing_cron()._trigger()
        return True

    @api.model_create_multi
    def create(self, vals_list):
        # The webhook stores replies in SQL (``_receive``). A row created through the ORM
        # (history imported by the superuser, tests) starts processed: never one for the
        # worker to run.
        for vals in vals_list:
            self._check_staff_fields(vals, set(vals) - PIPELINE_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        self._check_staff_fields(vals, STAFF_FIELDS)
        # Linking an unknown sender to a contact brings the reply onto its chatter (the
        # worker posts the replies it processes itself).
        newly_linked = (
            self.filtered(
                lambda i: not i.partner_id and i.pipeline_state in ("processed", "failed")
            )
            if vals.get("partner_id")
            else None
        )
        result = super().write(vals)
        if newly_linked:
            newly_linked._post_on_chatter()
        return result

    @api.model
    def _check_staff_fields(self, vals, allowed):
        """Refuse ``vals`` that set a field outside ``allowed``: whoever calls, the
        superuser included (see the class docstring)."""
        facts = sorted(set(vals) - allowed)
        if facts:
            raise AccessError(
                _(
                    "A received SMS is kept as it came in: %(fields)s can't be changed.",
                    fields=", ".join(
                        self._fields[name].string if name in self._fields else name
                        for name in facts
                    ),
                )
            )

    def _pipeline_write(self, vals):
        """The inbound pipeline's own writes (the webhook's, the worker's, the reminder's
        and the manager's re-run): the one path to the fields ``write`` refuses. Private,
        so no client can call it; goes straight to the ORM's ``write``."""
        return super().write(vals)

    def link_partner(self, partner):
        self.filtered(lambda i: not i.partner_id).write({"partner_id": partner.id})

    def action_send_sms_to_contacts(self):
        """Open Odoo's SMS composer in mass mode on exactly the contacts who wrote these
        replies (re-targeting)."""
        partners = self.partner_id
        if not partners:
            raise UserError(_("These replies come from unknown numbers: link them to contacts."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS"),
            "res_model": "sms.composer",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_composition_mode": "mass",
                "default_res_model": "res.partner",
                "default_res_ids": repr(partners.ids),
                "default_mass_keep_log": True,
                "active_model": "res.partner",
                "active_ids": partners.ids,
                "active_id": False,
            },
        }

    def action_export_csv(self):
        """Open the CSV export of replies, preset to the selected ones."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Export replies"),
            "res_model": "sms.interaction.export",
            "view_mode": "form",
            "target": "new",
            "context": {"default_interaction_ids": self.ids, "default_mode": "selected"},
        }
