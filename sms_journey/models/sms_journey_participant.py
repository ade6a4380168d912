import logging
from dataclasses import replace
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from ..tools import flow
from ..tools import journey as journey_tools
from ..tools import keywords as keyword_tools
from .bulk_sql import insert_rows
from .isolation import run_isolated
from .sms_gateway_message import _testing
from .sms_journey_trace import StepSms
from .sms_sender import SmsRequest
from .sms_template import COUPON_PLACEHOLDER, LANDING_PLACEHOLDER

_logger = logging.getLogger(__name__)


# Steps that text the contact: their trace is "the previous SMS" for conditions.
SMS_ACTIONS = ("sms", "survey", "appointment")


# A journey whose batch of steps failed tries again after this delay.
FAILED_BATCH_RETRY = timedelta(hours=1)


class SmsJourneyParticipant(models.Model):
    """One run of a journey for one partner (and its source record, e.g. the cart).

    ``step_id`` is the next step to run and ``next_action_at`` when; the step cron
    claims due rows with ``FOR UPDATE SKIP LOCKED`` so parallel workers never run the
    same step twice.
    """

    _name = "sms.journey.participant"
    _description = "SMS Journey Participant"
    _order = "id desc"
    _rec_name = "partner_id"
    _check_company_auto = True

    journey_id = fields.Many2one(
        "sms.journey", required=True, ondelete="cascade", index=True, check_company=True
    )
    # the bulk enrolment writes it with the row (``insert_rows``); the ORM from the journey
    company_id = fields.Many2one(
        "res.company",
        index=True,
        compute="_compute_company_id",
        store=True,
        precompute=True,
        readonly=False,
    )
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade", index=True)
    key = fields.Char(
        required=True, help="The occurrence that enrolled the contact (cart, year, date…)."
    )
    source_model = fields.Char("Source model")
    source_res_id = fields.Integer("Source ID")
    source_ref = fields.Reference(
        selection="_selection_source_ref", string="Source", compute="_compute_source_ref"
    )
    state = fields.Selection(
        [
            ("running", "Running"),
            ("completed", "Completed"),
            ("exited", "Exited"),
            ("opted_out", "Opted out"),
        ],
        default="running",
        required=True,
        index=True,
    )
    exit_reason = fields.Char()
    step_id = fields.Many2one(
        "sms.journey.step", "Next step", ondelete="set null", index=True, check_company=True
    )
    enrolled_at = fields.Datetime(required=True, default=fields.Datetime.now)
    next_action_at = fields.Datetime("Next action", index=True)
    ended_at = fields.Datetime()
    last_sms_at = fields.Datetime("Last SMS")
    converted = fields.Boolean()
    holdout = fields.Boolean(
        "Control group",
        readonly=True,
        index=True,
        help="Drawn at enrolment from the journey's holdout share and seed: followed "
        "through the journey like the others, never texted.",
    )
    path = fields.Char(
        "Path taken", readonly=True, help="The side each branch step sent this contact on."
    )
    trace_ids = fields.One2many("sms.journey.trace", "participant_id", "Trace")

    _sql_constraints = [
        (
            "journey_partner_key_unique",
            "unique(journey_id, partner_id, key)",
            "A contact enters a journey once per occurrence.",
        ),
    ]

    def init(self):
        # The step cron scans only running participants by due time.
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_journey_participant_due_idx
               ON sms_journey_participant (next_action_at, id) WHERE state = 'running'"""
        )

    @api.model
    def _selection_source_ref(self):
        return [
            (model, self.env["ir.model"]._get(model).name or model)
            for model in ("sale.order", "account.move", "res.partner")
            if model in self.env
        ]

    @api.depends("journey_id")
    def _compute_company_id(self):
        for participant in self:
            participant.company_id = participant.journey_id.company_id

    @api.depends("source_model", "source_res_id")
    def _compute_source_ref(self):
        for participant in self:
            if participant.source_model in self.env and participant.source_res_id:
                participant.source_ref = f"{participant.source_model},{participant.source_res_id}"
            else:
                participant.source_ref = False

    def _source(self):
        self.ensure_one()
        if self.source_model in self.env and self.source_res_id:
            return self.env[self.source_model].browse(self.source_res_id).exists()
        return None

    # ------------------------------------------------------------------
    # Step cron
    # ------------------------------------------------------------------

    @api.model
    def _cron_execute_due(self, batch_size=500):
        """Run the due steps of running journeys, ``batch_size`` participants per call."""
        claimed = self._claim_due(batch_size)
        for journey, participants in claimed.grouped("journey_id").items():
            # SMS and records are made for the journey's company; one journey's failing
            # batch is logged on it and does not stop the others
            ok, _result = run_isolated(
                journey,
                _("Journey steps"),
                participants.with_company(journey.company_id)._execute_steps,
            )
            if not ok:
                # tried again later, not at once in a loop of failing runs
                participants.write({"next_action_at": fields.Datetime.now() + FAILED_BATCH_RETRY})
        if claimed and not _testing():
            self.env.cr.commit()  # the batch is done: release the claimed rows
        remaining = self._due_domain_count()
        self.env["ir.cron"]._notify_progress(done=len(claimed), remaining=remaining)
        return claimed

    def _execute_steps(self):
        """Run the due steps of these participants; the SMS of a step go out in one batch
        (one render, one bulk create, one enqueue) as Odoo's mass SMS do."""
        maybe_ordered = self._maybe_ordered_ids()
        try:
            # optimistic: all steps in one savepoint; an error replays them one by one
            with self.env.cr.savepoint():
                items = self._run_steps(maybe_ordered=maybe_ordered)
        except Exception:
            items = [self._execute_step_safely(p, maybe_ordered) for p in self]
        sms_batches = {}
        for item in filter(None, items):
            sms_batches.setdefault(item.step, []).append(item)
        for step, batch in sms_batches.items():
            try:
                with self.env.cr.savepoint():
                    self._send_sms_batch(step, batch)
                continue
            except Exception:
                _logger.exception("Bulk SMS of journey step %s failed: sending one by one", step.id)
            for item in batch:
                # one by one, so that only the broken participant leaves
                try:
                    with self.env.cr.savepoint():
                        self._send_sms_batch(step, [item])
                except Exception:
                    _logger.exception("Journey step failed for participant %s", item.participant.id)
                    reason = _("Error while sending the SMS")
                    self.env["sms.journey.trace"]._record_outcomes(
                        [replace(item, state="skipped", skip_reason=reason)]
                    )
                    item.participant._exit(_("Error while running the step"))

    @api.model
    def _claim_due(self, limit):
        """Lock due participants of running journeys; rows locked by another worker are
        skipped, and they leave the due set once that worker commits."""
        self.flush_model()
        self.env["sms.journey"].flush_model(["state"])
        rows = self.env.execute_query(
            SQL(
                """SELECT p.id FROM sms_journey_participant p
                     JOIN sms_journey j ON j.id = p.journey_id
                    WHERE p.state = 'running' AND j.state = 'running'
                      AND p.next_action_at <= %(now)s
                 ORDER BY p.next_action_at, p.id
                    LIMIT %(limit)s
                      FOR UPDATE OF p SKIP LOCKED""",
                now=fields.Datetime.now(),
                limit=limit,
            )
        )
        return self.browse([row[0] for row in rows])

    @api.model
    def _due_domain_count(self):
        return self.search_count(
            [
                ("state", "=", "running"),
                ("journey_id.state", "=", "running"),
                ("next_action_at", "<=", fields.Datetime.now()),
            ]
        )

    @api.model
    def _execute_step_safely(self, participant, maybe_ordered):
        try:
            with self.env.cr.savepoint():
                return participant._execute_step(sms_batch=True, maybe_ordered=maybe_ordered)
        except Exception:
            # one broken participant must not block the batch
            _logger.exception("Journey step failed for participant %s", participant.id)
            participant._exit(_("Error while running the step"))
            return None

    def _maybe_ordered_ids(self):
        """Ids of these participants whose contact's family may have ordered since they
        enrolled, found with a few queries for the batch so that ``_exit_reason`` checks
        the orders precisely only for them: families (commercial partner and
        descendants) with a confirmed order since the earliest enrolment of the batch."""
        checked = self.filtered(
            lambda p: p.journey_id.exit_on_order and p.journey_id.trigger != "abandoned_cart"
        )
        if not checked:
            return set()
        self.env["sale.order"].flush_model(["partner_id", "state", "date_order"])
        self.env["res.partner"].flush_model(["parent_id"])
        roots = set(checked.partner_id.commercial_partner_id.ids)
        if not roots:
            return set(checked.ids)
        # the families level by level on the parent_id index: a recursive CTE is
        # estimated so high that PostgreSQL JIT-compiles it, which cost more than the query
        root_of = {root: root for root in roots}
        level = list(roots)
        while level:
            rows = self.env.execute_query(
                SQL("SELECT id, parent_id FROM res_partner WHERE parent_id IN %s", tuple(level))
            )
            level = [child for child, parent in rows if child not in root_of]
            root_of.update((child, root_of[parent]) for child, parent in rows)
        rows = self.env.execute_query(
            SQL(
                """SELECT DISTINCT partner_id FROM sale_order
                    WHERE partner_id IN %s AND state = 'sale' AND date_order > %s""",
                tuple(root_of),
                min(checked.mapped("enrolled_at")),
            )
        )
        buyers = {root_of[row[0]] for row in rows}
        return {
            p.id
            for p in checked
            if not p.partner_id.commercial_partner_id
            or p.partner_id.commercial_partner_id.id in buyers
        }

    def _execute_step(self, sms_batch=False, maybe_ordered=None):
        """Run this participant's due step and plan the next one.

        With ``sms_batch``, an SMS step is not sent: what to send is returned, for
        ``_send_sms_batch`` to send with the other participants of the step and then plan
        the next step.
        """
        self.ensure_one()
        items = self._run_steps(sms_batch=sms_batch, maybe_ordered=maybe_ordered)
        return items[0] if items else None

    def _run_steps(self, sms_batch=True, maybe_ordered=None):
        """Run the due step of each of these participants: exit rules, condition, then
        the action. Returns the SMS to send (see ``_execute_step``) or None, per
        participant whose step ran.

        The traces of the steps run here are written with one INSERT first (actions
        update them); an SMS left for ``_send_sms_batch`` only gets a trace id, and its
        trace is written once, with the SMS.
        """
        now = fields.Datetime.now()
        # A/B steps about to send: pick their winner first when the test is decided
        self.step_id.filtered("variant_ids")._decide_variant_winner(now)
        planned, deferred = [], []
        for participant in self:
            if not participant._start_step(maybe_ordered):
                continue
            step = participant.step_id
            met = participant._condition_met(step)
            if (
                sms_batch
                and met
                and step.action == "sms"
                and not participant.holdout
                and not participant._sms_skip_reason(step)
            ):
                deferred.append((participant, step))
            else:
                planned.append((participant, step, met))
        traces = insert_rows(
            self.env["sms.journey.trace"],
            [p._trace_values(step, now) for p, step, _met in planned],
        )
        self.invalidate_recordset(["trace_ids"])
        items = [
            p._run_step(step, trace, now, met)
            for (p, step, met), trace in zip(planned, traces, strict=True)
        ]
        trace_ids = self.env["sms.journey.trace"]._reserve_ids(len(deferred))
        for (p, step), trace_id in zip(deferred, trace_ids, strict=True):
            items.append(p._sms_item(step, trace_id, now))
        return items

    def _trace_values(self, step, now):
        """Columns of a new trace of ``step`` for this participant."""
        return {
            "participant_id": self.id,
            "journey_id": self.journey_id.id,
            "company_id": self.journey_id.company_id.id,
            "partner_id": self.partner_id.id,
            "step_id": step.id,
            "action": step.action,
            "state": "scheduled",
            "executed_at": now,
        }

    def _start_step(self, maybe_ordered=None):
        """Whether this participant's step runs now; if not, it is completed or has
        left (exit rules)."""
        if self.state != "running":
            return False
        if not self.step_id:
            self._complete()
            return False
        reason = self._exit_reason(maybe_ordered)
        if reason:
            state = "opted_out" if reason == "opted_out" else "exited"
            self._exit(self._exit_label(reason), state=state)
            return False
        return True

    def _run_step(self, step, trace, now, condition_met):
        if step.action == "branch":
            self._take_branch(step, trace, now, "yes" if condition_met else "no")
            return None
        if not condition_met:
            labels = dict(step._fields["condition"]._description_selection(self.env))
            trace._skip(_("Condition not met: %(cond)s", cond=labels.get(step.condition)))
            self._advance(step, now)
            return None
        if self.holdout and step.action in SMS_ACTIONS:
            # the control group walks the journey without a single SMS request
            trace.write({"state": "held_out", "skip_reason": _("Control group: no SMS")})
            self._advance(step, now)
            return None
        done_at = getattr(self, f"_action_{step.action}")(step, trace)
        if self.state != "running":
            return None
        self._advance(step, max(done_at or now, now))
        return None

    def _take_branch(self, step, trace, now, side):
        """Send this participant down the ``side`` path of branch ``step``, recorded on
        the trace and on the participant's path."""
        trace.write({"state": "done", "branch": side})
        label = f"{step.name}: {side}"
        self.path = f"{self.path} › {label}" if self.path else label
        self._advance_batch(step, {self: now}, following=step._branch_step(side))

    def _advance(self, step, done_at):
        self._advance_batch(step, {self: done_at})

    @api.model
    def _advance_batch(self, step, done_at, texted=(), following=None):
        """Move {participant: time its ``step`` was done} to the next step (``following``,
        by default the step after ``step``), due after its wait; one write per due time
        (a batch usually shares one). The ``texted`` participants also get their last
        SMS time, in the same write."""
        if following is None:
            following = step._next_step()
        now = fields.Datetime.now()
        groups = {}
        for participant, when in done_at.items():
            if following:
                due = journey_tools.step_due_time(
                    participant.enrolled_at,
                    when,
                    following.wait_amount,
                    following.wait_unit,
                    following.wait_from,
                )
                vals = {"step_id": following.id, "next_action_at": due}
            else:
                vals = self._complete_values()
            if participant in texted:
                vals["last_sms_at"] = now
            groups.setdefault(tuple(sorted(vals.items())), []).append(participant.id)
        for vals, ids in groups.items():
            self.browse(ids).write(dict(vals))

    @api.model
    def _complete_values(self, reason=False):
        return {
            "state": "completed",
            "exit_reason": reason,
            "next_action_at": False,
            "ended_at": fields.Datetime.now(),
        }

    def _complete(self, reason=False):
        self.write(self._complete_values(reason))

    def _exit(self, reason, state="exited"):
        """End these running participants with ``reason``."""
        self.filtered(lambda p: p.state == "running").write(
            {
                "state": state,
                "exit_reason": reason,
                "next_action_at": False,
                "ended_at": fields.Datetime.now(),
            }
        )

    # --- exit rules ------------------------------------------------------

    def _exit_reason(self, maybe_ordered=None):
        """Why this participant must leave before the next step (a code), or False.

        ``maybe_ordered`` (from ``_maybe_ordered_ids``) spares the order query of the
        participants who cannot have ordered.
        """
        journey = self.journey_id
        partner = self.partner_id
        if journey.exit_on_optout and partner.sms_consent_state == "opted_out":
            return "opted_out"
        source = self._source()
        if self.source_model == "sale.order" and journey.trigger == "abandoned_cart":
            if source is None or not source:
                return "cart_gone"
            if source.state in ("sale", "done"):
                return "ordered"
            if source.state == "cancel" or not source.order_line:
                return "cart_emptied"
        if self.source_model == "account.move" and source is not None:
            if not source or source.payment_state in ("paid", "in_payment", "reversed"):
                return "paid"
        if journey.exit_on_order and journey.trigger != "abandoned_cart":
            if maybe_ordered is not None and self.id not in maybe_ordered:
                return False
            if self._ordered_since(self.enrolled_at):
                return "ordered"
        return False

    def _exit_label(self, code):
        return {
            "opted_out": _("Opted out"),
            "ordered": _("Placed an order"),
            "cart_gone": _("Cart deleted"),
            "cart_emptied": _("Cart emptied"),
            "paid": _("Invoice paid"),
            "stop": _("Replied STOP"),
        }.get(code, code)

    def _ordered_since(self, since):
        domain = [
            ("partner_id", "child_of", self.partner_id.commercial_partner_id.id),
            ("state", "=", "sale"),
            ("date_order", ">", since),
        ]
        if self.source_model == "sale.order":
            domain.append(("id", "!=", self.source_res_id))
        return bool(self.env["sale.order"].sudo().search_count(domain, limit=1))

    # --- conditions --------------------------------------------------------

    def _previous_sms_trace(self):
        return self.trace_ids.filtered(
            lambda t: t.action in SMS_ACTIONS and t.state == "sent"
        ).sorted("id")[-1:]

    def _condition_met(self, step):
        condition = step.condition
        if condition == "none":
            return True
        previous = self._previous_sms_trace()
        since = previous.executed_at or self.enrolled_at
        if condition == "clicked":
            return bool(previous.clicked_at)
        if condition == "not_clicked":
            return not previous.clicked_at
        if condition == "replied":
            return bool(previous.replied_at)
        if condition == "not_replied":
            return not previous.replied_at
        if condition == "keyword":
            return self._replied_keyword(step.condition_keyword, since)
        if condition == "ordered":
            return self._ordered_since(since)
        if condition == "not_ordered":
            return not self._ordered_since(since)
        if condition in ("consenting", "survey", "odoo_survey", "partner"):
            return self._partner_condition_met(step, self.partner_id)
        return True

    @api.model
    def _partner_condition_met(self, step, partner):
        """The conditions read from the contact alone (no reaction to an SMS): still
        consenting, survey answer, contact filter. The preview asks them too."""
        if step.condition == "consenting":
            return partner.sms_consent_state == "opted_in"
        if step.condition == "survey":
            return self._answered(step, partner)
        if step.condition == "odoo_survey":
            return self._completed_survey(step, partner)
        if step.condition == "partner":
            return self._partner_matches(step, partner)
        return True

    @api.model
    def _answered(self, step, partner):
        """Whether the contact's latest answer to the step's question matches its value."""
        question = step.condition_question_id
        if not question:
            return False
        answer = (
            self.env["sms.survey.answer"]
            .sudo()
            .search(
                [("question_id", "=", question.id), ("partner_id", "=", partner.id)],
                order="answered_at desc, id desc",
                limit=1,
            )
        )
        if not answer:
            return False
        operator = step.condition_operator or "="
        value = answer.value if operator == "=" else answer.value_number
        return flow.compare(value, operator, step.condition_value)

    @api.model
    def _completed_survey(self, step, partner):
        """Whether the contact completed the step's Odoo survey (its latest completed
        answer, whatever link it came from) and, when the step has a value, whether that
        answer's score (%) satisfies it."""
        survey = step.condition_survey_id
        if not survey or not partner:
            return False
        answer = (
            self.env["survey.user_input"]
            .sudo()
            .search(
                [
                    ("survey_id", "=", survey.id),
                    ("partner_id", "=", partner.id),
                    ("state", "=", "done"),
                    ("test_entry", "=", False),
                ],
                order="end_datetime desc, id desc",
                limit=1,
            )
        )
        if not answer:
            return False
        if not (step.condition_value or "").strip():
            return True
        operator = step.condition_operator or ">="
        if operator == "=":  # a score: 100.0 is 100, not a text to match
            return flow.compare(answer.scoring_percentage, ">=", step.condition_value) and (
                flow.compare(answer.scoring_percentage, "<=", step.condition_value)
            )
        return flow.compare(answer.scoring_percentage, operator, step.condition_value)

    @api.model
    def _partner_matches(self, step, partner):
        """Whether the contact matches the step's contact filter (an invalid filter
        matches nobody)."""
        try:
            domain = safe_eval(step.condition_domain or "[]") or []
        except Exception:
            _logger.warning("Invalid contact filter on journey step %s", step.id)
            return False
        return bool(
            self.env["res.partner"].search_count([("id", "=", partner.id), *domain], limit=1)
        )

    def _replied_keyword(self, keyword, since):
        if not keyword:
            return False
        replies = (
            self.env["sms.interaction"]
            .sudo()
            .search(
                [
                    "|",
                    ("sms_journey_participant_id", "=", self.id),
                    ("partner_id", "=", self.partner_id.id),
                    ("received_at", ">=", since),
                ]
            )
        )
        words = [w.strip() for w in keyword.split(",") if w.strip()]
        return any(keyword_tools.match(r.body or "", words, "first_word") for r in replies)

    # --- actions -----------------------------------------------------------

    def _action_sms(self, step, trace):
        """Send this participant's SMS alone (the step cron sends them by batch)."""
        reason = self._sms_skip_reason(step)
        if reason:
            trace._skip(reason)
            return None
        item = self._sms_item(step, trace.id, trace.executed_at)
        return self._send_sms_batch(step, [item], advance=False)[self.id]

    def _sms_skip_reason(self, step):
        """Why this participant's SMS of ``step`` cannot be written, or None."""
        if not step.template_id and not step.variant_ids:
            return _("No SMS template on the step")
        if not self.partner_id._sms_number():
            return _("The contact has no phone number")
        return None

    def _sms_item(self, step, trace_id, now):
        """What ``_send_sms_batch`` needs to send this participant's SMS of ``step``;
        ``trace_id`` may not be written yet (see ``_run_steps``)."""
        variant = step._variant_for(self)
        template = variant.template_id if variant else step.template_id
        record = self._render_record(step, template)
        thread = (
            record
            if record._name != "res.partner" and hasattr(record, "_message_sms")
            else self.partner_id
        )
        return StepSms(
            self,
            step,
            trace_id,
            now,
            record=record,
            thread=thread,
            template=template,
            variant=variant or None,
        )

    def _send_sms_batch(self, step, items, advance=True):
        """Send the SMS of ``step`` for ``items`` (from ``_sms_item``) the way Odoo's
        mass SMS do: one render per model, links shortened per trace, one log message
        per SMS on its document's chatter with its SMS notification (whose tracker follows
        the delivery reports), all through ``sms.sender._send``: the sending policy
        decides per SMS, then the outbox (with a gateway) or Odoo's IAP.
        Then the traces are filled and, with ``advance``, the participants move on.

        Returns {participant id: due time of its SMS or None when skipped}.
        """
        bodies = self._batch_bodies(step, items)
        journey = step.journey_id
        requests = [
            SmsRequest(
                body=bodies[item.trace_id],
                partner=item.participant.partner_id,
                thread=item.thread,
                kind=journey.sms_kind,
                template=item.template,
            )
            for item in items
        ]
        sent = [
            replace(item, sent=sms)
            for item, sms in zip(
                items,
                self.env["sms.sender"]._send(requests, company=journey.company_id),
                strict=True,
            )
        ]
        ordered = items
        # the next-step write also stamps the last SMS time (one UPDATE, not two)
        due_times, texted = self.env["sms.journey.trace"]._record_sent_batch(
            sent, stamp=not advance
        )
        result = {item.participant.id: due_times[item.trace_id] for item in ordered}
        if advance:
            done_at = {}
            for item in ordered:
                participant = item.participant
                if participant.state == "running":
                    due = result[participant.id]
                    done_at[participant] = max(due or item.now, item.now)
            self._advance_batch(step, done_at, texted)
            (texted - self.browse([p.id for p in done_at])).write(
                {"last_sms_at": fields.Datetime.now()}
            )
        return result

    def _batch_bodies(self, step, items):
        """{trace id: SMS text} of ``items``: one render per model and language (the
        contact's, see ``res.partner._sms_langs``), then the links shortened and tied to
        each trace."""
        bodies = {}
        partners = self.env["res.partner"].union(*(item.participant.partner_id for item in items))
        langs = partners._sms_langs(step.journey_id.company_id)
        groups = _group_by(
            items,
            lambda item: (item.template, item.record._name, langs[item.participant.partner_id.id]),
        )
        for (template, model, lang), group in groups.items():
            records = self.env[model].browse(dict.fromkeys(item.record.id for item in group))
            rendered = self._render_bodies(template.with_context(lang=lang), records)
            for item in group:
                bodies[item.trace_id] = rendered[item.record.id]
        bodies = self._fill_landing_url(step, bodies)
        bodies = self._fill_coupons(step, items, bodies)
        return self.env["sms.journey.trace"]._track_links_batch(bodies, step.journey_id)

    def _render_record(self, step, template):
        record = None
        if step.render_on == "source":
            record = self._source()
        if not record or record._name != template.model:
            record = self.partner_id
        if record._name == "sale.order":
            record._portal_ensure_token()
        return record

    def _render_body(self, template, record):
        return self._render_bodies(template, record)[record.id]

    def _render_bodies(self, template, records):
        """{record id: body} of ``template`` rendered on ``records`` (one model), in the
        template's language when it computes one, else in the context's."""
        if template.model != records._name:
            # a template made for another model: render its text on the contact anyway
            return template._render_template(
                template.body, records._name, records.ids, engine="inline_template"
            )
        return template._render_field("body", records.ids, compute_lang=True)

    def _action_survey(self, step, trace):
        """Text the step's survey question; its reply is recorded as the answer."""
        question = step.survey_question_id
        if not question:
            trace._skip(_("No survey question on the step"))
            return None
        if not self.partner_id._sms_number():
            trace._skip(_("The contact has no phone number"))
            return None
        lang = self.partner_id._sms_lang(self.journey_id.company_id)
        body = question.with_context(lang=lang).body
        sms = self._send_one(body, self.partner_id, kind="marketing")
        if not sms.verdict.canceled:
            self.env["sms.survey.request"].create(
                {
                    "question_id": question.id,
                    "partner_id": self.partner_id.id,
                    "number": sms.verdict.number,
                    "sms_uuid": sms.uuid,
                    "sent_at": fields.Datetime.now(),
                }
            )
        return trace._record_sent(sms)

    def _action_appointment(self, step, trace):
        """Remind the contact of its next appointment, posted on the event so that the
        C/A/R keyword rules find it."""
        template = step.template_id
        if template.model != "calendar.event":
            trace._skip(_("The step needs an SMS template of Calendar Event"))
            return None
        now = fields.Datetime.now()
        event = (
            self.env["calendar.event"]
            .sudo()
            .search(
                [
                    ("partner_ids", "in", self.partner_id.ids),
                    ("start", ">", now),
                    ("start", "<=", now + timedelta(days=step.appointment_days or 2)),
                ],
                order="start",
                limit=1,
            )
        )
        if not event:
            trace._skip(_("No upcoming appointment"))
            return None
        lang = self.partner_id._sms_lang(self.journey_id.company_id)
        body = template.with_context(lang=lang)._render_field(
            "body", event.ids, compute_lang=True
        )[event.id]
        # posted on the event, so that the C/A/R keyword rules find it
        sms = self._send_one(body, self.partner_id, thread=event, template=template)
        return trace._record_sent(sms)

    def _send_one(self, body, partner, kind=None, thread=None, template=None):
        """Send one SMS of this participant's journey through ``sms.sender._send``."""
        request = SmsRequest(
            body=body,
            partner=partner,
            thread=thread,
            kind=kind or self.journey_id.sms_kind,
            template=template,
        )
        return self.env["sms.sender"]._send([request], company=self.journey_id.company_id)[0]

    def _action_tag_add(self, step, trace):
        if step.tag_id:
            self.partner_id.sudo().write({"category_id": [(4, step.tag_id.id)]})
        trace._done()

    def _action_tag_remove(self, step, trace):
        if step.tag_id:
            self.partner_id.sudo().write({"category_id": [(3, step.tag_id.id)]})
        trace._done()

    def _action_set_stage(self, step, trace):
        set_journey_stage(self.partner_id, step.stage_value)
        trace._done()

    def _action_set_active(self, step, trace):
        make_active(self.partner_id, fields.Datetime.now())
        trace._done()

    def _action_opt_out(self, step, trace):
        proof = _(
            "Journey %(journey)s, step %(step)s: no reaction.",
            journey=self.journey_id.name,
            step=step.name,
        )
        # the seeds' unsubscribe list is a marketing list: order and appointment SMS go on
        self.partner_id._sms_marketing_opt_out("api", proof)
        trace._done()
        self._exit(_("Moved to the marketing unsubscribed list"), state="opted_out")

    def _action_activity(self, step, trace):
        partner = self.partner_id
        user = partner.user_id or partner.commercial_partner_id.user_id or self.env.user
        record = self._source() or partner
        if not hasattr(record, "activity_schedule"):
            record = partner
        record.sudo().activity_schedule(
            activity_type_id=step.activity_type_id.id
            or self.env.ref("mail.mail_activity_data_todo").id,
            summary=step.activity_summary or self.journey_id.name,
            user_id=user.id,
        )
        trace._done()

    def _action_end(self, step, trace):
        trace._done()
        self._complete(_("Ended by a step"))

    # --- events ------------------------------------------------------------

    def _on_click(self, when):
        """A click of this participant: ends the journey as active when configured."""
        for participant in self.filtered(lambda p: p.state == "running"):
            if participant.journey_id.end_on_click:
                make_active(participant.partner_id, when)
                participant._complete(_("Clicked: active again"))

    def _on_stop(self):
        self.filtered(lambda p: p.state == "running" and p.journey_id.exit_on_stop)._exit(
            self._exit_label("stop"), state="opted_out"
        )

    # --- landing pages ---------------------------------------------------------------

    def _fill_landing_url(self, step, bodies):
        """Put the step's landing page where the template says ``{{ landing_url }}``
        (before the links are shortened per trace: the contact clicks its own tracked
        link; a survey is opened for that contact by the click, see
        ``sms.journey.trace._landing_redirect``). Without a landing page the placeholder
        is dropped."""
        if not any(body and LANDING_PLACEHOLDER in body for body in bodies.values()):
            return bodies
        path = step._landing_path()
        url = f"{step.journey_id.get_base_url()}{path}" if path else ""
        return {
            key: body.replace(LANDING_PLACEHOLDER, url) if body else body
            for key, body in bodies.items()
        }

    # --- coupons -------------------------------------------------------------------

    def _fill_coupons(self, step, items, bodies):
        """Put each participant's own coupon code where the template says
        ``{{ coupon_code }}``: one single-use card of the step's program per participant,
        created in one batch, expiring ``coupon_validity_days`` from today. Without a
        program the placeholder is dropped."""
        if not any(COUPON_PLACEHOLDER in body for body in bodies.values()):
            return bodies
        program = step.loyalty_program_id
        if not program:
            return {key: body.replace(COUPON_PLACEHOLDER, "") for key, body in bodies.items()}
        expiry = fields.Date.context_today(self) + timedelta(days=step.coupon_validity_days)
        points = max(program.reward_ids.mapped("required_points") or [1])
        cards = (
            self.env["loyalty.card"]
            .sudo()
            .with_context(loyalty_no_mail=True)
            .create(
                [
                    {
                        "program_id": program.id,
                        "partner_id": item.participant.partner_id.id,
                        "points": points,
                        "expiration_date": expiry,
                        "sms_journey_participant_id": item.participant.id,
                        "sms_journey_step_id": step.id,
                    }
                    for item in items
                ]
            )
        )
        filled = dict(bodies)
        for item, card in zip(items, cards, strict=True):
            filled[item.trace_id] = bodies[item.trace_id].replace(COUPON_PLACEHOLDER, card.code)
        return filled


def _group_by(items, key):
    groups = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def partner_tz(partner):
    """The time zone journeys use for ``partner``."""
    return partner.tz or partner.env.company.partner_id.tz or "UTC"


def make_active(partner, when):
    """Move ``partner`` back to active: a fresh interaction resets its inactivity, and a
    contact still at first contact or orientation reaches *interaction*, the first
    active stage (a loyal or expanding customer keeps its stage: never downgraded)."""
    partner.sudo()._sms_touch_interaction(when)
    if partner.journey_stage in ("first_contact", "orientation"):
        set_journey_stage(partner, "interaction")


def set_journey_stage(partner, stage):
    """Set ``journey_stage`` when ``stage`` is one of its values."""
    if not stage:
        return
    values = [
        v for v, _label in partner._fields["journey_stage"]._description_selection(partner.env)
    ]
    if stage not in values:
        return
    partner.sudo().write({"journey_stage": stage})
