import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import link_signature
from .bulk_sql import add_parent_company_column, insert_rows

_logger = logging.getLogger(__name__)

# what a step's outcome writes on a trace that already exists
OUTCOME_COLUMNS = (
    "state",
    "skip_reason",
    "body",
    "sms_uuid",
    "outbox_message_id",
    "sms_state",
    "cost",
    "variant_id",
)


@dataclass(frozen=True)
class StepSms:
    """One SMS a journey step sends to one participant, from the step run to its trace
    (``sms.journey.participant._send_sms_batch`` → ``_record_sent_batch``)."""

    participant: models.Model
    step: models.Model
    trace_id: int  # reserved (``_reserve_ids``) before the trace row is written
    now: datetime
    record: models.Model | None = None  # the template is rendered on it
    thread: models.Model | None = None  # the SMS is logged on its chatter
    template: models.Model | None = None  # sms.template of the step or of its variant
    variant: models.Model | None = None  # sms.journey.step.variant drawn, if any
    sent: object = None  # sms.sender.SentSms, once sent
    state: str | None = None  # the trace's outcome: sent / skipped
    skip_reason: str | None = None


class SmsJourneyTrace(models.Model):
    """What one step did for one participant: the SMS sent (linked to its outbox row by
    the SMS uuid), or the action done, or why it was skipped; then what the contact did
    with it (click, reply, order)."""

    _name = "sms.journey.trace"
    _description = "SMS Journey Trace"
    _order = "id desc"
    _rec_name = "step_id"

    participant_id = fields.Many2one(
        "sms.journey.participant", required=True, ondelete="cascade", index=True
    )
    journey_id = fields.Many2one(
        related="participant_id.journey_id", store=True, index=True, string="Journey"
    )
    partner_id = fields.Many2one(
        related="participant_id.partner_id", store=True, index=True, string="Contact"
    )
    # the bulk paths write it with the row (``insert_rows``), as ``journey_id``
    company_id = fields.Many2one(related="journey_id.company_id", store=True, index=True)
    step_id = fields.Many2one("sms.journey.step", ondelete="set null", index=True)
    action = fields.Selection(
        selection=lambda self: self.env["sms.journey.step"]._fields["action"].selection,
        required=True,
    )
    state = fields.Selection(
        [
            ("scheduled", "Scheduled"),
            ("sent", "SMS sent"),
            ("done", "Done"),
            ("skipped", "Skipped"),
            ("held_out", "Held out"),
        ],
        default="scheduled",
        required=True,
        index=True,
    )
    skip_reason = fields.Char()
    variant_id = fields.Many2one(
        "sms.journey.step.variant",
        "A/B variant",
        ondelete="set null",
        readonly=True,
        index="btree_not_null",
    )
    branch = fields.Selection(
        [("yes", "Yes"), ("no", "No")], "Path taken", readonly=True, help="Of a branch step."
    )
    executed_at = fields.Datetime(default=fields.Datetime.now)
    body = fields.Text(readonly=True)
    sms_uuid = fields.Char("SMS reference", index="btree_not_null", readonly=True)
    outbox_message_id = fields.Many2one(
        "sms.gateway.message", "Outbox message", index="btree_not_null", readonly=True
    )
    sms_state = fields.Selection(related="outbox_message_id.state", store=True, string="SMS state")
    sms_due_at = fields.Datetime(related="outbox_message_id.due_at", string="SMS due at")
    sent_at = fields.Datetime(related="outbox_message_id.sent_at", store=True)
    delivered_at = fields.Datetime(related="outbox_message_id.delivered_at")
    cost = fields.Float(related="outbox_message_id.cost", store=True, digits=(12, 5))
    clicked_at = fields.Datetime(readonly=True)
    click_count = fields.Integer("Clicks", readonly=True, help="Every click, a second one too.")
    replied_at = fields.Datetime(readonly=True)
    reply_body = fields.Text(readonly=True)
    opted_out_at = fields.Datetime(readonly=True, help="When a STOP answered this SMS.")
    converted = fields.Boolean(readonly=True)
    # a deleted order looks for its traces (ON DELETE SET NULL)
    order_id = fields.Many2one(
        "sale.order", "Attributed order", readonly=True, index="btree_not_null"
    )

    def _auto_init(self):
        # one UPDATE for the traces of an existing database (the ORM would compute this
        # related-of-a-related field row by row, on the biggest table of the addon)
        add_parent_company_column(self, "journey_id")
        return super()._auto_init()

    # ------------------------------------------------------------------
    # Outcome of the step
    # ------------------------------------------------------------------

    def _skip(self, reason):
        self.write({"state": "skipped", "skip_reason": reason})

    def _done(self):
        self.write({"state": "done"})

    def _track_links(self, body):
        """Shorten the links of ``body`` with link_tracker and tie each to this trace
        (``/r/<code>/j/<trace id>/<signature>``), so a click tells which SMS was clicked."""
        self.ensure_one()
        return self._track_links_batch({self.id: body}, self.journey_id)[self.id]

    @api.model
    def _track_links_batch(self, bodies, journey):
        """``_track_links`` for {trace id: body} of ``journey`` (the traces may not be
        written yet): each distinct text is shortened once (its trackers are shared),
        then each SMS gets its own trace id in the links, signed (``tools/link_signature``)
        so that nobody can click for another participant by changing the id."""
        base_url = journey.get_base_url()
        key = self._link_key()
        # any host: the trackers' short URLs use their own base URL (website domains)
        pattern = re.compile(r"https?://[^\s/]+/r/([A-Za-z0-9]+)(?![A-Za-z0-9/])")
        shortened, result = {}, {}

        def tie(match, trace_id):
            signature = link_signature.sign(key, match.group(1), trace_id)
            return f"{match.group(0)}/j/{trace_id}/{signature}"

        for trace_id, body in bodies.items():
            if not body or "http" not in body:
                result[trace_id] = body
                continue
            if body not in shortened:
                vals = {"title": journey.name}  # no URL fetch here
                shortened[body] = (
                    self.env["mail.render.mixin"]
                    .sudo()
                    ._shorten_links_text(body, vals, base_url=base_url)
                )
            result[trace_id] = pattern.sub(
                lambda m, trace_id=trace_id: tie(m, trace_id), shortened[body]
            )
        return result

    @api.model
    def _link_key(self):
        """The key signing the trace ids of short links, derived from the database secret."""
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        return link_signature.link_key(secret)

    @api.model
    def _check_link_signature(self, code, trace_id, signature):
        """Whether ``signature`` is the one of the link ``/r/<code>/j/<trace_id>``."""
        return link_signature.verify(self._link_key(), code, trace_id, signature)

    @api.model
    def _reserve_ids(self, count):
        """``count`` ids of traces to write later (``_record_sent_batch``), so that the
        links of their SMS can carry them."""
        if not count:
            return []
        rows = self.env.execute_query(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                f"{self._table}_id_seq",
                count,
            )
        )
        return [row[0] for row in rows]

    def _record_sent(self, sent):
        """Link this trace to the SMS ``sent`` (``sms.sender.SentSms``).

        An SMS the policy canceled (no consent, opted-out number…) skips the trace with
        its reason; a queued one — even deferred by quiet hours or caps — counts as
        sent, and its due time is returned so the next wait counts from it.
        """
        self.ensure_one()
        item = StepSms(self.participant_id, self.step_id, self.id, self.executed_at, sent=sent)
        due_times, texted = self._record_sent_batch([item])
        texted.write({"last_sms_at": fields.Datetime.now()})
        return due_times[self.id]

    @api.model
    def _record_sent_batch(self, items):
        """``_record_sent`` for the items of ``_send_sms_batch`` (participant, step,
        trace_id, now, sent); returns {trace id: due time or None} and the participants
        texted (their last SMS time is written with their next step)."""
        result, outcomes, participants = {}, [], self.env["sms.journey.participant"]
        for item in items:
            sent = item.sent
            result[item.trace_id] = None
            if sent.verdict.canceled:
                outcomes.append(replace(item, state="skipped", skip_reason=sent.verdict.reason))
            else:
                outcomes.append(replace(item, state="sent", skip_reason=None))
                result[item.trace_id] = sent.due_at
                participants |= item.participant
        self._record_outcomes(outcomes)
        return result, participants

    @api.model
    def _record_outcomes(self, items):
        """Write the traces of ``items`` (participant, step, trace_id, now, state,
        skip_reason; outbox, uuid, body when an SMS was made) with one statement:
        inserted when only reserved, updated when they exist."""
        rows = []
        for item in items:
            sent = item.sent
            outbox = (sent.outbox if sent else None) or self.env["sms.gateway.message"]
            rows.append(
                {
                    "id": item.trace_id,
                    "participant_id": item.participant.id,
                    "journey_id": item.participant.journey_id.id,
                    "company_id": item.participant.journey_id.company_id.id,
                    "partner_id": item.participant.partner_id.id,
                    "step_id": item.step.id or None,
                    "action": item.step.action or "sms",
                    "executed_at": item.now,
                    "state": item.state,
                    "skip_reason": item.skip_reason or None,
                    "body": (sent.request.body if sent else None) or None,
                    "sms_uuid": (sent.uuid if sent else None) or None,
                    "outbox_message_id": outbox.id or None,
                    # stored related fields, kept as the ORM would
                    "sms_state": outbox.state or None,
                    "cost": outbox.cost or 0.0,
                    "variant_id": item.variant.id if item.variant else None,
                }
            )
        insert_rows(self, rows, update=OUTCOME_COLUMNS)
        participants = self.env["sms.journey.participant"].browse(
            {item.participant.id for item in items}
        )
        participants.invalidate_recordset(["trace_ids"])

    # ------------------------------------------------------------------
    # Landing pages
    # ------------------------------------------------------------------

    @api.model
    def _landing_redirect(self, code, trace_id, signature, url):
        """Where the click of ``/r/<code>/j/<trace_id>/<signature>`` leads: the link's
        ``url``, except for the step's Odoo survey, which opens on the contact's own
        answer (``answer_token``) when the link is signed for that trace, so the answer
        is recorded on the contact and the participant."""
        if not (trace_id and signature and self._check_link_signature(code, trace_id, signature)):
            return url
        trace = self.browse(trace_id).exists()
        step = trace.step_id
        survey = step.landing_survey_id if step.landing_type == "survey" else None
        if not survey or survey.get_start_url() not in url:
            return url
        answer = trace._landing_survey_answer(survey)
        if not answer:
            return url
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}{urlencode({'answer_token': answer.access_token})}"

    def _landing_survey_answer(self, survey):
        """The participant's answer of ``survey`` (``survey.user_input``): the one a
        previous click opened, else a new one for the contact, tied to the participant
        and this trace. Empty when the survey refuses it (closed, sign-in required)."""
        self.ensure_one()
        participant = self.participant_id
        Answer = self.env["survey.user_input"].sudo()
        answer = Answer.search(
            [
                ("survey_id", "=", survey.id),
                ("sms_journey_participant_id", "=", participant.id),
            ],
            order="id desc",
            limit=1,
        )
        if answer:
            return answer
        try:
            return survey.sudo()._create_answer(
                partner=participant.partner_id,
                check_attempts=False,
                sms_journey_participant_id=participant.id,
                sms_journey_trace_id=self.id,
            )
        except UserError as error:
            _logger.info(
                "Journey trace %s: survey %s refused an answer: %s", self.id, survey.id, error
            )
            return Answer

    # ------------------------------------------------------------------
    # Reactions
    # ------------------------------------------------------------------

    def _mark_clicked(self, when=None):
        """A click on a link of this SMS: first click time, the contact's last
        interaction, then the journey's click rule."""
        when = when or fields.Datetime.now()
        for trace in self.sudo():
            if not trace.clicked_at:
                trace.clicked_at = when
            trace.click_count += 1
            trace.partner_id._sms_touch_interaction(when)
            trace.participant_id._on_click(when)

    def _mark_replied(self, interaction):
        for trace in self.sudo():
            if not trace.replied_at:
                trace.write({"replied_at": interaction.received_at, "reply_body": interaction.body})

    # ------------------------------------------------------------------
    # The reply that answers a journey SMS (the inbound pipeline)
    # ------------------------------------------------------------------

    @api.model
    def _find_answered_by(self, interaction):
        """The journey SMS ``interaction`` answers: the outbox row it replies to, else
        the previous SMS of its contact's running participant, else the latest journey
        SMS to its number (an unknown or ambiguous sender)."""
        Trace = self.sudo()
        trace = Trace.browse()
        if interaction.outbox_message_id:
            trace = Trace.search(
                [("sms_uuid", "=", interaction.outbox_message_id.sms_uuid)], limit=1
            )
        if not trace and interaction.partner_id:
            participant = (
                self.env["sms.journey.participant"]
                .sudo()
                .search(
                    [("partner_id", "=", interaction.partner_id.id), ("state", "=", "running")],
                    order="id desc",
                    limit=1,
                )
            )
            trace = participant._previous_sms_trace() if participant else Trace.browse()
        if not trace and interaction.number:
            trace = Trace.search(
                [
                    ("state", "=", "sent"),
                    ("outbox_message_id.number", "=", interaction.number),
                    ("participant_id.state", "=", "running"),
                ],
                order="id desc",
                limit=1,
            )
        return trace

    def _record_reply(self, interaction):
        """``interaction`` answers this SMS: replied (and opted out on STOP), and an
        interaction of its contact."""
        self.ensure_one()
        self._mark_replied(interaction)
        if interaction.consent_action == "opt_out":
            self.sudo().opted_out_at = interaction.received_at
        self.partner_id._sms_touch_interaction(interaction.received_at)
