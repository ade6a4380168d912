"""The received SMS: stored once by the webhook, guarded as a fact, and the staff's
actions on it. The inbound worker that processes replies in batches is in
``sms_interaction_worker.py``; what a reply means, step by step, in
``sms_interaction_pipeline.py``."""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, plaintext2html

from ..tools import phone as phone_tools
from ..tools import results

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


class SmsInteraction(models.Model):
    """One SMS received from a contact (or from an unknown number).

    Stored by the inbound webhook, never twice for the same provider message
    (``_receive``: one INSERT … ON CONFLICT DO NOTHING, then the worker is woken up), and
    processed right after by the ``_cron_process_received`` worker, in arrival order per
    number. ``pipeline_state`` is the row's lifecycle: ``received`` (stored, answered to
    the provider) → ``processing`` (claimed by a worker, claim committed; a claim older
    than ``STALE_CLAIM`` is taken again) → ``processed`` (or ``failed``, with
    ``last_error``; the other replies go on).

    ``_run_pipeline`` is the whole inbound pipeline, step by step: consent keywords first
    (``sms.consent.keyword``), then the reply lands on the partner's chatter where sales
    staff read the whole SMS thread, then the customer facts, the journeys and mailings
    the reply answers (exit on STOP; matched by ``sms.journey.trace`` and
    ``mailing.trace``), an open survey question, and finally keyword rules (else a
    survey clarification, else the courtesy reply). A reply with a ``consent_action``
    never answers a survey nor runs a rule. ``_reply`` is the one method that answers: it
    queues the answer on the reply's batch (``tools/inbound_batch.py``), which the worker
    flushes once all its replies ran; a reply processed on its own is a batch of one.

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
        index="btree_not_null",
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
    mail_message_id = fields.Many2one(
        "mail.message", "Chatter message", readonly=True, index="btree_not_null"
    )
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
        cron = self._processing_cron()
        interaction_id, woken = self._insert_received(gateway, inbound, number, cron)
        if not interaction_id:  # the provider retried a message we already have
            return self._find_received(gateway, inbound)
        if woken:
            # as ir.cron._trigger does for a trigger due now
            self.env.cr.postcommit.add(cron._notifydb)
        return self.browse(interaction_id)

    @api.model
    def _insert_received(self, gateway, inbound, number, cron):
        """``_receive``'s one statement: store the reply unless the provider message is
        stored already, and book a wake-up of ``cron`` unless one was booked in the last
        ``WAKE_UP_WINDOW``; returns (the new row's id or None, whether it booked one)."""
        now = fields.Datetime.now()
        uid = self.env.uid
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
        return rows[0]

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
    # The reply on its contact's chatter
    # ------------------------------------------------------------------

    def _post_on_chatter(self):
        """Post the reply on the partner's chatter as written by the partner, and tell
        the salesperson, through ``message_post`` (a batch of the inbound worker posts its
        replies together: ``_post_batch_on_chatter``)."""
        if not self.partner_id:
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
        return Markup('<i class="fa fa-mobile" title="%s"></i> ') % self.env._(
            "SMS"
        ) + plaintext2html(self.body or "")

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
                    summary=self.env._("Answer the SMS of %s", partner.display_name),
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
            raise AccessError(self.env._("Only SMS journey managers can run a received SMS again."))
        self.check_access("write")
        if any(reply.pipeline_state != "failed" for reply in self):
            raise UserError(
                self.env._("Only a received SMS whose processing failed can be run again.")
            )
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
                self.env._(
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
            raise UserError(
                self.env._("These replies come from unknown numbers: link them to contacts.")
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send SMS"),
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
            "name": self.env._("Export replies"),
            "res_model": "sms.interaction.export",
            "view_mode": "form",
            "target": "new",
            "context": {"default_interaction_ids": self.ids, "default_mode": "selected"},
        }
