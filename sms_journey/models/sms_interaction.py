import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
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
# A reply answers an SMS mailing sent to the number at most this many days before (the
# campaign report's horizon).
REPLY_DAYS = results.DAYS


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
    """

    _name = "sms.interaction"
    _description = "SMS Interaction"
    _order = "received_at desc, id desc"
    _rec_name = "number"

    partner_id = fields.Many2one("res.partner", index="btree_not_null")
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
        ``_cron_process_received`` right after, outside the provider's request."""
        number = phone_tools.try_normalize(inbound.sender) or inbound.sender
        now = fields.Datetime.now()
        uid = self.env.uid
        rows = self.env.execute_query(
            SQL(
                """INSERT INTO sms_interaction
                       (number, recipient, body, received_at, gateway_id, company_id,
                        provider_message_id, state, pipeline_state,
                        create_uid, create_date, write_uid, write_date)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, 'new', 'received', %s, %s, %s, %s)
                   ON CONFLICT (gateway_id, provider_message_id) DO NOTHING
                   RETURNING id""",
                number,
                inbound.recipient,
                inbound.body,
                now,
                gateway.id,
                gateway.company_id.id or None,
                inbound.provider_message_id,
                uid,
                now,
                uid,
                now,
            )
        )
        if not rows:  # the provider retried a message we already have
            return self._find_received(gateway, inbound)
        self._trigger_processing()
        return self.browse(rows[0][0])

    @api.model
    def _trigger_processing(self):
        cron = self.env.ref("sms_journey.ir_cron_sms_interaction_process", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

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
    def _cron_process_received(self, batch_size=100):
        """Process stored replies in claimed batches, oldest first.

        The claim is committed before any work, and each reply is processed and marked
        in its own transaction: a worker killed mid-batch leaves its claimed rows
        ``processing``; once the claim is stale they are claimed again, and what the
        dead worker had not committed is done once, by the next one.
        """
        auto_commit = not _testing()
        claimed = self._claim_received(batch_size)
        if auto_commit:
            self.env.cr.commit()  # the claim is durable: other workers skip these numbers
        for interaction in claimed:
            interaction._process_received()
            if auto_commit:
                self.env.cr.commit()  # the reply's effects and its 'processed' mark together
        remaining = self.search_count([("pipeline_state", "=", "received")])
        self.env["ir.cron"]._notify_progress(done=len(claimed), remaining=remaining)
        return claimed

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

    def _process_received(self):
        """Run the inbound pipeline on this claimed reply in a savepoint: a reply that
        fails is marked ``failed`` with its error, the others go on."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._run_pipeline()
                self.write({"pipeline_state": "processed", "last_error": False})
        except Exception as error:  # one bad reply must not stop the others
            _logger.exception("Inbound SMS %s could not be processed", self.id)
            self.env.invalidate_all()
            self.write({"pipeline_state": "failed", "last_error": str(error)})

    def _run_pipeline(self):
        """What a reply means, step by step (see the class docstring)."""
        self._resolve_sender()
        # From here on every answer (consent confirmations, HELP, survey thanks, keyword
        # rule replies, the courtesy reply) is written in the contact's language.
        self.with_context(lang=self._answer_lang())._answer()

    def _answer_lang(self):
        """The language of the answers to this reply: the contact's, else the language
        of the company the SMS came in for, else English."""
        return self.partner_id._sms_lang(self.company_id or self.env.company)

    def _answer(self):
        """The pipeline after the sender is known, in the language of the answers."""
        self._handle_consent_keyword()
        self._post_on_chatter()
        self.partner_id._sms_touch_interaction(self.received_at)
        # Journeys before the survey: an answer records the journey the reply belongs to.
        self._apply_journeys()
        if self.consent_action:
            return
        if self._answer_open_survey():
            return
        if not self._apply_keyword_rules():
            if not self._clarify_open_survey():
                self._send_courtesy_reply()

    def _resolve_sender(self):
        """The contact behind the number and the last SMS we sent it on this gateway."""
        partner = self.partner_id or self._match_partner(self.number)
        outbox = self.env["sms.gateway.message"].search(
            [
                ("gateway_id", "=", self.gateway_id.id),
                ("number", "=", self.number),
                ("state", "in", ("sent", "delivered")),
            ],
            order="sent_at desc, id desc",
            limit=1,
        )
        self.write({"partner_id": partner.id, "outbox_message_id": outbox.id})

    @api.model
    def _match_partner(self, number):
        partners = self.env["res.partner"]._sms_partners_for_number(number)
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
            self.consent_action = "opt_out"
            partner_model._sms_consent_opt_out_number(
                self.number, "keyword", proof, self.partner_id, interaction=self
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
            self.consent_action = "opt_in"
            partner_model._sms_consent_opt_in_number(
                self.number, "keyword", proof, self.partner_id, interaction=self
            )
            self._reply(
                _(
                    "%(brand)s: you are subscribed to our SMS again. Reply STOP to opt out.",
                    brand=brand,
                ),
            )
        elif family == "help":
            self.consent_action = "help"
            # CTIA: HELP is answered even to a number that sent STOP
            self._reply(self._help_text(company), kind="essential")
        elif family == "confirm" and self.partner_id.sms_consent_state == "pending":
            self.consent_action = "confirm"
            self.partner_id._sms_consent_set(
                "opted_in", "keyword", proof, self.number, interaction=self
            )
            self._reply(
                _(
                    "%(brand)s: thank you, your SMS subscription is confirmed. "
                    "Reply STOP to opt out.",
                    brand=brand,
                )
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
        not the webhook's public user's. The sending policy applies as to any SMS."""
        self.ensure_one()
        template_id = self.env.context.get("sms_journey_template_id")
        if template is None and template_id:
            template = self.env["sms.template"].browse(template_id)
        request = SmsRequest(
            body=body,
            partner=self.partner_id,
            number=self.number,
            kind=kind,
            template=template,
            author_id=self.env.ref("base.partner_root").id,
        )
        return self.env["sms.sender"].sudo()._send([request], gateway=self.gateway_id)[0]

    def _post_on_chatter(self):
        """Post the reply on the partner's chatter as written by the partner, and tell
        the salesperson."""
        if not self.partner_id:
            return
        partner = self.partner_id
        notify = partner.user_id.partner_id
        body = Markup('<i class="fa fa-mobile" title="%s"></i> ') % _("SMS") + plaintext2html(
            self.body or ""
        )
        message = (
            partner.with_context(mail_create_nosubscribe=True)
            .sudo()
            .message_post(
                body=body,
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                partner_ids=notify.ids,
            )
        )
        self.mail_message_id = message

    # ------------------------------------------------------------------
    # Journeys: the journey SMS this reply answers
    # ------------------------------------------------------------------

    def _apply_journeys(self):
        """Mark the SMS this reply answers as replied — the latest one sent to the
        number, journey step or SMS mailing; on STOP, every running participant behind
        the number leaves its journey."""
        self.ensure_one()
        trace = self._find_journey_trace()
        mailing_trace = self._find_mailing_trace(trace)
        if mailing_trace:
            mailing_trace.set_replied()
            vals = {"mailing_trace_id": mailing_trace.id}
            if self.consent_action == "opt_out":
                mailing_trace.sms_opted_out_at = self.received_at
            self.write(vals)
        elif trace:
            trace._mark_replied(self)
            self.write(
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
            partners |= self.env["res.partner"].sudo()._sms_partners_for_number(self.number)
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
        self.write({"matched_rule_id": rule.id, "matched_keyword": keyword})
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
        already = self.search_count(
            [
                ("number", "=", self.number),
                ("courtesy_sent", "=", True),
                ("received_at", ">", self.received_at - COURTESY_INTERVAL),
                ("id", "!=", self.id),
            ],
            limit=1,
        )
        if already:
            return False
        self.courtesy_sent = True
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
            due.reminded = True

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

    def write(self, vals):
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
