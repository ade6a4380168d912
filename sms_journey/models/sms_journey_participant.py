import logging
from dataclasses import replace
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import journey as journey_tools
from .bulk_sql import insert_rows
from .isolation import run_isolated
from .sms_gateway_message import _testing

_logger = logging.getLogger(__name__)

# A journey whose batch of steps failed tries again after this delay.
FAILED_BATCH_RETRY = timedelta(hours=1)


class SmsJourneyParticipant(models.Model):
    """One run of a journey for one partner (and its source record, e.g. the cart).

    ``step_id`` is the next step to run and ``next_action_at`` when; the step cron
    (``_cron_execute_due``) claims due rows with ``FOR UPDATE SKIP LOCKED`` so parallel
    workers never run the same step twice, and runs them with ``_run_due_steps`` (each
    participant alone, ``_run_due_step_alone``, when the batch fails) by the step rules
    of ``tools/journey.py``, which the preview follows too. This file holds the engine
    and the exit rules; the conditions, the actions and the SMS of the steps are in
    ``sms_journey_participant_conditions.py``, ``_actions.py`` and ``_sms.py``.
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
    trace_ids = fields.One2many("sms.journey.trace", "participant_id")

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
                self.env._("Journey steps"),
                participants.with_company(journey.company_id)._run_due_steps,
            )
            if not ok:
                # tried again later, not at once in a loop of failing runs
                participants.write({"next_action_at": fields.Datetime.now() + FAILED_BATCH_RETRY})
        if claimed and not _testing():
            # the batch is done: release the claimed rows
            self.env.cr.commit()  # pylint: disable=invalid-commit
        remaining = self._due_domain_count()
        self.env["ir.cron"]._notify_progress(done=len(claimed), remaining=remaining)
        return claimed

    def _run_due_steps(self):
        """Run the due step of each of these participants (exit rules, condition, then
        the action: ``tools/journey.py``) and plan the next one; the SMS of a step go
        out in one batch (one render, one bulk create, one enqueue) as Odoo's mass SMS
        do. This is the step cron's one way to run steps.

        Optimistic: all of it in one savepoint; when that fails, each participant runs
        alone (``_run_due_step_alone``), so that only the broken one leaves.
        """
        maybe_ordered = self._maybe_ordered_ids()
        try:
            with self.env.cr.savepoint():
                items = self._apply_due_steps(maybe_ordered)
                for step, batch in _group_by(items, lambda item: item.step).items():
                    self._send_sms_batch(step, batch)
            return
        except Exception:
            _logger.exception("Journey steps failed in bulk: running them one by one")
        for participant in self:
            participant._run_due_step_alone(maybe_ordered)

    def _run_due_step_alone(self, maybe_ordered):
        """``_run_due_steps`` for this participant alone, after the batch failed: a
        step or an SMS that fails ends its run (the SMS's trace says why)."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                items = self._apply_due_steps(maybe_ordered)
        except Exception:
            _logger.exception("Journey step failed for participant %s", self.id)
            self._exit(self.env._("Error while running the step"))
            return
        for item in items:
            try:
                with self.env.cr.savepoint():
                    self._send_sms_batch(item.step, [item])
            except Exception:
                _logger.exception("Journey step failed for participant %s", self.id)
                reason = self.env._("Error while sending the SMS")
                self.env["sms.journey.trace"]._record_outcomes(
                    [replace(item, state="skipped", skip_reason=reason)]
                )
                self._exit(self.env._("Error while running the step"))

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

    def _apply_due_steps(self, maybe_ordered=None):
        """Apply the due step of each of these participants: exit rules, condition,
        then the outcome (``journey.step_outcome``). Returns the SMS that the steps
        which text write (``StepSms``, for ``_send_sms_batch``, which then plans their
        next step).

        The traces of the other steps are written with one INSERT first (their actions
        update them); an SMS to send only gets a trace id, and its trace is written
        once, with the SMS.
        """
        now = fields.Datetime.now()
        # A/B steps about to send: pick their winner first when the test is decided
        self.step_id.filtered("variant_ids")._decide_variant_winner(now)
        planned, texting = [], []
        for participant in self:
            if not participant._start_step(maybe_ordered):
                continue
            step = participant.step_id
            outcome = journey_tools.step_outcome(
                step.action, participant._condition_met(step), participant.holdout
            )
            if (
                outcome.kind == journey_tools.RUN
                and step.action == "sms"
                and not participant._sms_skip_reason(step)
            ):
                texting.append((participant, step))
            else:
                planned.append((participant, step, outcome))
        traces = insert_rows(
            self.env["sms.journey.trace"],
            [p._trace_values(step, now) for p, step, _outcome in planned],
        )
        self.invalidate_recordset(["trace_ids"])
        for (participant, step, outcome), trace in zip(planned, traces, strict=True):
            participant._apply_outcome(step, trace, now, outcome)
        trace_ids = self.env["sms.journey.trace"]._reserve_ids(len(texting))
        return [
            participant._sms_item(step, trace_id, now)
            for (participant, step), trace_id in zip(texting, trace_ids, strict=True)
        ]

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

    def _apply_outcome(self, step, trace, now, outcome):
        """Do what ``step`` does for this participant (``outcome``, from
        ``journey.step_outcome``), recorded on ``trace``, then plan the next step."""
        if outcome.kind == journey_tools.BRANCH:
            self._take_branch(step, trace, now, outcome.side)
            return
        if outcome.kind == journey_tools.SKIPPED:
            labels = dict(step._fields["condition"]._description_selection(self.env))
            trace._skip(self.env._("Condition not met: %(cond)s", cond=labels.get(step.condition)))
            self._advance(step, now)
            return
        if outcome.kind == journey_tools.HELD_OUT:
            # the control group walks the journey without a single SMS request
            trace.write({"state": "held_out", "skip_reason": self.env._("Control group: no SMS")})
            self._advance(step, now)
            return
        sent_at = self._step_actions()[step.action](step, trace)
        if journey_tools.ends_journey(outcome, step.action) or self.state != "running":
            return  # the step ended the run, or the contact left on the way
        self._advance(step, journey_tools.step_done_at(now, sent_at))

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
        dues = {}
        if following:
            rows = [(p.partner_id, p.enrolled_at, when) for p, when in done_at.items()]
            dues = dict(zip(done_at, following._due_times(rows), strict=True))
        groups = {}
        for participant in done_at:
            if following:
                vals = {"step_id": following.id, "next_action_at": dues[participant]}
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
            "opted_out": self.env._("Opted out"),
            "ordered": self.env._("Placed an order"),
            "cart_gone": self.env._("Cart deleted"),
            "cart_emptied": self.env._("Cart emptied"),
            "paid": self.env._("Invoice paid"),
            "stop": self.env._("Replied STOP"),
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

    # --- events ------------------------------------------------------------

    def _on_click(self, when):
        """A click of this participant: ends the journey as active when configured."""
        for participant in self.filtered(lambda p: p.state == "running"):
            if participant.journey_id.end_on_click:
                make_active(participant.partner_id, when)
                participant._complete(self.env._("Clicked: active again"))

    def _on_stop(self):
        self.filtered(lambda p: p.state == "running" and p.journey_id.exit_on_stop)._exit(
            self._exit_label("stop"), state="opted_out"
        )


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
