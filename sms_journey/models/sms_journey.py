import logging
import secrets
from datetime import datetime, time, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from ..tools import flow, schedule, stats
from ..tools import journey as journey_tools
from .bulk_sql import insert_rows
from .isolation import run_isolated
from .res_partner_facts_backfill import FACT_FIELDS
from .sms_journey_participant import SMS_ACTIONS, partner_tz

_logger = logging.getLogger(__name__)

# triggers whose contacts past the threshold can be caught up on activation
CATCH_UP_TRIGGERS = ("inactivity", "invoice_overdue")

TRIGGERS = [
    ("abandoned_cart", "Abandoned cart"),
    ("birthday", "Birthday"),
    ("anniversary", "Anniversary"),
    ("inactivity", "Inactivity"),
    ("order_confirmed", "Order confirmed"),
    ("order_delivered", "Order delivered"),
    ("invoice_overdue", "Invoice overdue"),
    ("segment", "Segment"),
]
# Triggers whose moments are read off a date that only moves forward: the enrolment
# cron scans the window (last check, now] instead of the whole table.
SOURCE_MODEL = {
    "abandoned_cart": "sale.order",
    "order_confirmed": "sale.order",
    "order_delivered": "sale.order",
    "invoice_overdue": "account.move",
}


class SmsJourney(models.Model):
    """An automated SMS journey: a trigger enrols partners (optionally with a source
    record such as a cart), then steps run in sequence for each participant.

    Two crons drive it: ``_cron_enrol`` evaluates the triggers of running journeys and
    ``sms.journey.participant._cron_execute_due`` runs the steps that are due. Every SMS
    goes through Odoo's SMS API and so through the outbox's consent, quiet-hour and
    frequency rules.
    """

    _name = "sms.journey"
    _description = "SMS Journey"
    _inherit = ["mail.thread", "sms.result.mixin"]
    _sms_result_field = "journey_id"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("running", "Running"),
            ("paused", "Paused"),
            ("stopped", "Stopped"),
        ],
        default="draft",
        required=True,
        tracking=True,
        copy=False,
        index=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    sms_kind = fields.Selection(
        [("marketing", "Marketing"), ("transactional", "Transactional")],
        string="Message type",
        required=True,
        default="marketing",
        help="Marketing journeys need the contact's SMS consent and respect quiet hours "
        "and frequency caps; transactional ones only respect opt-outs.",
    )
    trigger = fields.Selection(TRIGGERS, required=True, default="segment", tracking=True)
    description = fields.Text(translate=True)
    # trigger settings
    cart_idle_hours = fields.Float("Cart idle for (hours)", default=1.0)
    cart_max_age_hours = fields.Float(
        "Carts idle at most (hours)",
        default=48.0,
        help="Older abandoned carts are left alone: one SMS per abandonment, soon after it.",
    )
    send_hour = fields.Float(
        "Send at (local hour)",
        default=10.0,
        help="Birthdays and anniversaries: hour of the day in the contact's time zone.",
    )
    anniversary_field_id = fields.Many2one(
        "ir.model.fields",
        "Anniversary of",
        domain="[('model', '=', 'res.partner'), ('ttype', 'in', ('date', 'datetime')), "
        "('store', '=', True)]",
        ondelete="set null",
        help="Date field of the contact; empty = the date of the contact's first order.",
    )
    inactivity_days = fields.Integer("Inactive for (days)", default=30)
    overdue_days = fields.Integer("Overdue by (days)", default=1)
    catch_up_days = fields.Integer(
        "Catch up (days)",
        help="Inactivity and overdue invoices: on activation, also enrol the contacts who "
        "crossed the trigger in the last days (0 = only those who cross it from then on). "
        "They enter on the day of activation.",
    )
    segment_interval_days = fields.Integer(
        "Re-evaluate segment every (days)", default=7, help="0 = only on activation."
    )
    audience_domain = fields.Char(
        "Audience",
        default="[]",
        help="Only contacts matching this filter enter the journey.",
    )
    # exit rules and policies
    exit_on_order = fields.Boolean("Exit when an order is placed", default=True)
    exit_on_optout = fields.Boolean("Exit when the contact opts out", default=True)
    exit_on_stop = fields.Boolean("Exit when the contact replies STOP", default=True)
    end_on_click = fields.Boolean(
        "A click ends the journey",
        help="A click on any link moves the contact back to active and ends the journey.",
    )
    reentry_policy = fields.Selection(
        [("never", "Never"), ("after_days", "After some days")],
        string="Re-entry",
        default="after_days",
        required=True,
    )
    reentry_days = fields.Integer("Re-entry after (days)", default=30)
    # cron state
    date_start = fields.Datetime("Started on", readonly=True, copy=False)
    enrol_checked_at = fields.Datetime(
        "Triggers checked up to", readonly=True, copy=False, help="Window of the last scan."
    )
    segment_run_key = fields.Char(readonly=True, copy=False)
    segment_cursor = fields.Integer(readonly=True, copy=False)
    segment_next_run = fields.Datetime(readonly=True, copy=False)

    step_ids = fields.One2many("sms.journey.step", "journey_id", "Steps", copy=True)
    holdout_percent = fields.Float(
        "Control group (%)",
        default=0.0,
        help="This share of the contacts who enter is drawn into a control group: they "
        "walk the journey and are measured, but never get its SMS.",
    )
    goal_days = fields.Integer(
        "Conversion window (days)",
        default=14,
        help="Control-group results: a contact who orders within this many days of "
        "entering counts as converted, treated and control alike. (Orders are attributed "
        "to SMS by the company's click and delivery windows, see Results.)",
    )
    holdout_seed = fields.Char(
        "Draw seed",
        default=lambda self: secrets.token_hex(8),
        copy=False,
        help="With the participant id, decides who is in the control group "
        "(tools/flow.py): recorded so that the draw can be checked.",
    )
    treated_count = fields.Integer("Treated", compute="_compute_holdout_results")
    control_count = fields.Integer("Control", compute="_compute_holdout_results")
    treated_conversion = fields.Float("Treated conversion (%)", compute="_compute_holdout_results")
    control_conversion = fields.Float("Control conversion (%)", compute="_compute_holdout_results")
    treated_revenue_per_head = fields.Float(
        "Treated revenue per head", compute="_compute_holdout_results", digits=(12, 2)
    )
    control_revenue_per_head = fields.Float(
        "Control revenue per head", compute="_compute_holdout_results", digits=(12, 2)
    )
    holdout_summary = fields.Text("Increment", compute="_compute_holdout_results")
    participant_ids = fields.One2many("sms.journey.participant", "journey_id")
    # measurement
    participant_count = fields.Integer("Participants", compute="_compute_statistics")
    running_count = fields.Integer(
        "Running", compute="_compute_statistics", help="Participants still in the journey."
    )
    skipped_count = fields.Integer("Skipped", compute="_compute_statistics")
    # sent, delivered, …, revenue, cost, ROAS, ROI: sms.result.mixin; a journey's opt-outs
    # are its participants who left opted out (a STOP, or the unsubscribe step)
    opted_out_count = fields.Integer(
        "Opted out",
        compute="_compute_statistics",
        help="Participants who left the journey opted out: a STOP or the unsubscribe step.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    # the backfill of the customer facts after the install (res_partner_facts_backfill)
    facts_backfill_running = fields.Boolean(compute="_compute_facts_backfill_progress")
    facts_backfill_progress = fields.Integer(compute="_compute_facts_backfill_progress")

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------

    def _compute_statistics(self):
        """Participants and opt-outs, live; skipped steps from the stored step totals
        (``sms.journey.step``, as of the results' last refresh); the SMS figures come
        from ``sms.result.mixin``."""
        extra = {j.id: {} for j in self}
        if self.ids:
            for journey_id, skipped in self.env.execute_query(
                SQL(
                    "SELECT journey_id, SUM(skipped) FROM sms_journey_step_total"
                    " WHERE journey_id = ANY(%s) GROUP BY journey_id",
                    self.ids,
                )
            ):
                extra[journey_id]["skipped"] = skipped
            for journey, state, count in self.env["sms.journey.participant"]._read_group(
                [("journey_id", "in", self.ids)], ["journey_id", "state"], ["__count"]
            ):
                extra[journey.id]["participants"] = extra[journey.id].get("participants", 0) + count
                extra[journey.id][state] = count
        for journey in self:
            more = extra.get(journey.id, {})
            journey.participant_count = more.get("participants", 0)
            journey.running_count = more.get("running", 0)
            journey.skipped_count = more.get("skipped", 0)
            journey.opted_out_count = more.get("opted_out", 0)

    def _compute_holdout_results(self):
        """Treated vs control: conversion (an order confirmed by the contact's family
        within the goal window after enrolment, the same rule for both groups) and
        revenue per head, the increment and its 95 % confidence interval; from the
        stored sums per group (``sms_journey_holdout``, as of the results' last
        refresh)."""
        figures = self._holdout_figures()
        empty = (0, 0, stats.Sums(0, 0.0, 0.0))
        for journey in self:
            groups = figures.get(journey.id, {})
            (won_t, n_t, revenue_t), (won_c, n_c, revenue_c) = (
                groups.get(False, empty),
                groups.get(True, empty),
            )
            journey.treated_count, journey.control_count = n_t, n_c
            journey.treated_conversion = 100.0 * won_t / n_t if n_t else 0.0
            journey.control_conversion = 100.0 * won_c / n_c if n_c else 0.0
            journey.treated_revenue_per_head = revenue_t.mean if n_t else 0.0
            journey.control_revenue_per_head = revenue_c.mean if n_c else 0.0
            if not (n_t and n_c):
                journey.holdout_summary = False
                continue
            rate = stats.proportion_difference(won_t, n_t, won_c, n_c)
            revenue = stats.mean_difference_of_sums(revenue_t, revenue_c)
            journey.holdout_summary = _(
                "Conversion: %(d).2f points (95 %% CI %(lo).2f to %(hi).2f). "
                "Revenue per head: %(r).2f (95 %% CI %(rlo).2f to %(rhi).2f).",
                d=rate.difference * 100,
                lo=rate.low * 100,
                hi=rate.high * 100,
                r=revenue.difference,
                rlo=revenue.low,
                rhi=revenue.high,
            )

    def _holdout_figures(self):
        """{journey id: {holdout flag: (converted, participants, ``stats.Sums`` of the
        revenue per participant)}} from the stored sums."""
        if not self.ids:
            return {}
        rows = self.env.execute_query(
            SQL(
                """SELECT journey_id, holdout, converted, participants, revenue, revenue_squares
                     FROM sms_journey_holdout WHERE journey_id = ANY(%s)""",
                self.ids,
            )
        )
        figures = {}
        for journey_id, holdout, converted, participants, revenue, squares in rows:
            figures.setdefault(journey_id, {})[bool(holdout)] = (
                converted,
                participants,
                stats.Sums(participants, float(revenue), float(squares)),
            )
        return figures

    def _snapshot_views(self):
        """Stored with the results (``sms.result.snapshot``): the control-group sums of
        each journey, per group — participants, converted (an order confirmed by the
        contact's family within ``goal_days`` of enrolment), the revenue (order totals)
        and the sum of its squares per participant, for the confidence interval."""
        query = SQL(
            """
            SELECT row_number() OVER () AS id, g.journey_id, g.holdout,
                   COUNT(*) AS participants,
                   COUNT(*) FILTER (WHERE g.orders > 0) AS converted,
                   COALESCE(SUM(g.amount), 0) AS revenue,
                   COALESCE(SUM(g.amount * g.amount), 0) AS revenue_squares
              FROM (
                SELECT p.journey_id, COALESCE(p.holdout, FALSE) AS holdout, p.id,
                       COALESCE(SUM(o.amount_total), 0) AS amount, COUNT(o.id) AS orders
                  FROM sms_journey_participant p
                  JOIN sms_journey j ON j.id = p.journey_id
                  JOIN res_partner rp ON rp.id = p.partner_id
             LEFT JOIN res_partner op
                    ON op.commercial_partner_id = COALESCE(rp.commercial_partner_id, rp.id)
             LEFT JOIN sale_order o
                    ON o.partner_id = op.id AND o.state = 'sale'
                   AND o.date_order > p.enrolled_at
                   AND o.date_order <= p.enrolled_at + make_interval(days => j.goal_days)
              GROUP BY p.journey_id, p.holdout, p.id
              ) g
          GROUP BY g.journey_id, g.holdout
            """
        )
        return [("sms_journey_holdout", query, ["id"], [["journey_id"]])]

    def _first_step(self):
        """The step contacts enter on: the first of the main path."""
        self.ensure_one()
        node = flow.first_node(self.step_ids[:1]._flow_nodes()) if self.step_ids else None
        return self.env["sms.journey.step"].browse(node.id if node else [])

    # ------------------------------------------------------------------
    # The flow (static/src/journey_flow): cards with live figures
    # ------------------------------------------------------------------

    def get_flow(self):
        """The journey as a tree of cards for the flow widget: each step with its
        figures, a branch step with its ``yes`` and ``no`` paths."""
        self.ensure_one()
        steps = self.step_ids  # figures computed for all the steps at once
        actions = dict(
            self.env["sms.journey.step"]._fields["action"]._description_selection(self.env)
        )
        conditions = dict(
            self.env["sms.journey.step"]._fields["condition"]._description_selection(self.env)
        )
        nodes = steps[:1]._flow_nodes() if steps else []
        by_id = {step.id: step for step in steps}

        def card(step):
            if step.action == "branch":
                figures = [
                    (self.env._("Waiting"), step.waiting_count),
                    (self.env._("Yes"), step.yes_count),
                    (self.env._("No"), step.no_count),
                ]
            else:
                figures = [
                    (self.env._("Waiting"), step.waiting_count),
                    (self.env._("Sent"), step.sent_count),
                    (self.env._("Delivered"), step.delivered_count),
                    (self.env._("Clicked"), step.clicked_count),
                    (self.env._("Replied"), step.replied_count),
                    (self.env._("Converted"), step.converted_count),
                ]
                if step.held_out_count:
                    figures.append((self.env._("Held out"), step.held_out_count))
            subtitle = []
            if step.wait_amount:
                subtitle.append(step._wait_label())
            if step.condition != "none":
                subtitle.append(self.env._("if: %(cond)s", cond=conditions[step.condition]))
            return {
                "id": step.id,
                "name": step.name or actions[step.action],
                "action": step.action,
                "action_label": actions[step.action],
                "subtitle": ", ".join(subtitle),
                "figures": figures,
                "variants": [
                    {
                        "id": v.id,
                        "name": v.name,
                        "sent": v.sent_count,
                        "rate": round(v.rate, 2),
                        "winner": v.is_winner,
                    }
                    for v in step.variant_ids
                ],
                "paths": {
                    side: [card(by_id[n.id]) for n in flow.path_of(nodes, step.id, side)]
                    for side in flow.SIDES
                }
                if step.action == "branch"
                else {},
            }

        return [card(by_id[node.id]) for node in flow.path_of(nodes)]

    def copy(self, default=None):
        """Copies keep their branches: the copied path steps point at the copied branch
        steps (steps are copied in order, so their ids follow the originals')."""
        copies = super().copy(default)
        for journey, copy in zip(self, copies, strict=True):
            originals = journey.step_ids  # in _order, as copy_data wrote them
            twin = dict(zip(originals, copy.step_ids.sorted("id"), strict=True))
            for step in originals.filtered("parent_id"):
                twin[step].write(
                    {"parent_id": twin[step.parent_id].id, "branch_side": step.branch_side}
                )
        return copies

    def action_flow_add_step(self, parent_id=False, side=False, kind="sms"):
        """*+ SMS* / *+ Branch* at the end of a path of the flow (the main path, or
        ``side`` of the branch step ``parent_id``): the new step's form in a dialog,
        filled for that place. Nothing is created until the dialog is saved, so that
        *Discard* leaves the journey as it was."""
        self.ensure_one()
        if kind not in ("sms", "branch"):
            raise UserError(_("The flow adds SMS steps and branches."))
        siblings = self.step_ids.filtered(
            lambda s: s.parent_id.id == (parent_id or False)
            and (not parent_id or s.branch_side == side)
        )
        defaults = {
            "default_journey_id": self.id,
            "default_sequence": max(siblings.mapped("sequence"), default=0) + 10,
            "default_action": kind,
            "default_parent_id": parent_id or False,
            "default_branch_side": side if parent_id else False,
        }
        if kind == "branch":
            defaults["default_condition"] = "clicked"
        form = self.env.ref("sms_journey.sms_journey_step_view_form")
        return {
            "name": _("New SMS step") if kind == "sms" else _("New branch"),
            "type": "ir.actions.act_window",
            "res_model": "sms.journey.step",
            "views": [(form.id, "form")],
            "target": "new",
            "context": defaults,
        }

    # ------------------------------------------------------------------
    # State buttons
    # ------------------------------------------------------------------

    @api.constrains("state")
    def _check_steps_while_running(self):
        """A journey starts (or resumes) only with steps that can text (see the step's
        ``_check_content_while_running``)."""
        self.step_ids._check_content_while_running()

    def action_start(self):
        """Activate (or resume) the journey; a segment journey enrols at once."""
        for journey in self:
            if not journey.step_ids:
                raise UserError(_("Add at least one step to %(name)s.", name=journey.name))
            vals = {"state": "running"}
            if journey.state in ("draft", "stopped"):
                now = fields.Datetime.now()
                checked = now
                if journey.trigger in CATCH_UP_TRIGGERS and journey.catch_up_days > 0:
                    checked = now - timedelta(days=journey.catch_up_days)
                vals.update(date_start=now, enrol_checked_at=checked, segment_next_run=now)
            journey.write(vals)
        self._trigger_crons()
        return True

    def action_pause(self):
        """Participants keep their place and wait; steps due meanwhile run on resume."""
        self.filtered(lambda j: j.state == "running").write({"state": "paused"})
        return True

    def action_resume(self):
        self.filtered(lambda j: j.state == "paused").write({"state": "running"})
        self._trigger_crons()
        return True

    def action_stop(self):
        """Stop the journey: running participants exit, nobody new enters."""
        self.write({"state": "stopped"})
        running = self.env["sms.journey.participant"].search(
            [("journey_id", "in", self.ids), ("state", "=", "running")]
        )
        running._exit(_("Journey stopped"))
        return True

    def action_draft(self):
        self.filtered(lambda j: j.state == "stopped").write({"state": "draft"})
        return True

    def _trigger_crons(self):
        for xmlid in (
            "sms_journey.ir_cron_sms_journey_enrol",
            "sms_journey.ir_cron_sms_journey_steps",
        ):
            cron = self.env.ref(xmlid, raise_if_not_found=False)
            if cron:
                cron._trigger()

    def action_view_participants(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey.sms_journey_participant_action"
        )
        action["domain"] = [("journey_id", "=", self.id)]
        action["context"] = {"default_journey_id": self.id}
        return action

    def action_view_traces(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey.sms_journey_trace_action"
        )
        action["domain"] = [("journey_id", "=", self.id), ("action", "in", SMS_ACTIONS)]
        return action

    def action_view_orders(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Attributed orders"),
            "res_model": "sale.order",
            "view_mode": "list,form",
            "domain": [("sms_journey_id", "=", self.id)],
        }

    def action_preview(self):
        self.ensure_one()
        wizard = self.env["sms.journey.preview"].create({"journey_id": self.id})
        wizard.action_compute()
        return {
            "type": "ir.actions.act_window",
            "name": _("Preview: %(name)s", name=self.name),
            "res_model": "sms.journey.preview",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    # ------------------------------------------------------------------
    # Enrolment
    # ------------------------------------------------------------------

    @api.model
    def _cron_enrol(self, batch_size=500):
        """Evaluate the triggers of running journeys and enrol the matching contacts.

        Each journey scans the window since its last check, so the cost follows what
        happened since then; a segment journey walks its audience with a cursor.
        """
        now = fields.Datetime.now()
        done, remaining = 0, 0
        for journey in self.search([("state", "=", "running")]):
            # a journey whose trigger or audience raises must not stop the others
            ok, result = run_isolated(journey, _("Enrolment"), journey._enrol, now, batch_size)
            if ok:
                done += result[0]
                remaining += result[1]
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    def _enrol(self, now, limit):
        """Enrol this journey's candidates up to ``now``. Returns (created, remaining).

        A journey selecting on the customer facts waits while the backfill job computes
        them (after the install): its window since the last check is kept, so nobody
        is missed once they are there."""
        self.ensure_one()
        if self._waits_for_facts():
            _logger.info(
                "Journey %s (%s): enrolment skipped, the customer facts are being computed",
                self.name,
                self.id,
            )
            return 0, 0
        since = self.enrol_checked_at or self.date_start or now
        if self.trigger == "segment":
            return self._enrol_segment(now, limit)
        candidates = self._candidates(since, now)
        checked_up_to, remaining = now, 0
        if len(candidates) > limit:
            # Enrol the oldest moments first and resume after them on the next call;
            # candidates sharing the last moment go together so none is skipped.
            checked_up_to = candidates[limit - 1]["moment"]
            candidates = [c for c in candidates if c["moment"] <= checked_up_to]
            remaining = 1
        created = self._create_participants(candidates)
        self.enrol_checked_at = checked_up_to
        return len(created), remaining

    def _enrol_segment(self, now, limit):
        """Walk the audience in id order, ``limit`` partners per call."""
        if not self.segment_run_key:
            if not self.segment_next_run or self.segment_next_run > now:
                return 0, 0
            self.write({"segment_run_key": fields.Date.to_string(now.date()), "segment_cursor": 0})
        partners = self.env["res.partner"].search(
            self._audience() + [("id", ">", self.segment_cursor)], order="id", limit=limit
        )
        candidates = [
            {"partner_id": p.id, "key": self.segment_run_key, "moment": now} for p in partners
        ]
        created = self._create_participants(self._filter_candidates(candidates))
        if len(partners) < limit:
            interval = self.segment_interval_days
            self.write(
                {
                    "segment_run_key": False,
                    "segment_cursor": 0,
                    "segment_next_run": now + timedelta(days=interval) if interval else False,
                }
            )
            return len(created), 0
        self.segment_cursor = partners[-1].id
        return len(created), 1

    def _depends_on_facts(self):
        """Whether this journey's trigger or audience reads the customer facts
        (inactivity, first order, stages, order dates)."""
        self.ensure_one()
        if self.trigger == "inactivity":
            return True
        if self.trigger == "anniversary" and (
            not self.anniversary_field_id or self.anniversary_field_id.name in FACT_FIELDS
        ):
            return True
        # a field name anywhere in the filter (paths included): waiting by mistake only
        # delays the journey until the facts are there
        audience = self.audience_domain or ""
        return any(name in audience for name in FACT_FIELDS)

    def _waits_for_facts(self):
        """Whether this journey must wait for the customer facts backfill."""
        return (
            self._depends_on_facts()
            and self.env["res.partner"]._sms_facts_backfill_state() is not None
        )

    def _compute_facts_backfill_progress(self):
        progress = self.env["res.partner"]._sms_facts_backfill_progress()
        for journey in self:
            journey.facts_backfill_running = progress is not None
            journey.facts_backfill_progress = progress or 0

    def _audience(self):
        try:
            return safe_eval(self.audience_domain or "[]") or []
        except Exception:  # an invalid filter should not stop the other journeys
            _logger.warning("Invalid audience filter on journey %s", self.id)
            return [("id", "=", 0)]

    def _candidates(self, since, until):
        """Candidates whose trigger moment lies in ``(since, until]``, filtered by the
        audience, the running participants and the re-entry policy. Read-only: the
        preview uses it too.

        Returns dicts ``partner_id, key, moment`` (+ ``source_model, source_res_id``).
        """
        self.ensure_one()
        method = getattr(self, f"_candidates_{self.trigger}", None)
        if not method or until <= since:
            return []
        return self._filter_candidates(method(since, until))

    def _filter_candidates(self, candidates):
        if not candidates:
            return []
        partner_ids = {c["partner_id"] for c in candidates}
        allowed = set(
            self.env["res.partner"]
            .with_context(active_test=False)
            .search(self._audience() + [("id", "in", list(partner_ids))])
            .ids
        )
        history = {}
        for row in self.env["sms.journey.participant"].search_read(
            [("journey_id", "=", self.id), ("partner_id", "in", list(partner_ids))],
            ["partner_id", "key", "state", "enrolled_at"],
        ):
            history.setdefault(row["partner_id"][0], []).append(
                (row["key"], row["state"], row["enrolled_at"])
            )
        result, seen = [], set()
        for cand in sorted(candidates, key=lambda c: c["moment"]):
            pid = cand["partner_id"]
            if pid not in allowed or pid in seen:
                continue
            past = history.get(pid, [])
            if any(key == cand["key"] for key, _state, _at in past):
                continue
            if any(state == "running" for _key, state, _at in past):
                continue
            if not journey_tools.within_reentry(
                [at for _key, _state, at in past],
                cand["moment"],
                self.reentry_policy,
                self.reentry_days,
            ):
                continue
            seen.add(pid)
            result.append(cand)
        return result

    def _create_participants(self, candidates):
        """Create participants; the unique key (journey, partner, key) makes parallel
        enrolment harmless: a duplicate is dropped by ``ON CONFLICT DO NOTHING``."""
        first = self._first_step()
        if not candidates or not first:
            return self.env["sms.journey.participant"]
        rows = []
        for cand in candidates:
            # nobody enters before the journey started (caught-up contacts included)
            enrolled_at = max(cand["moment"], self.date_start or cand["moment"])
            rows.append(
                {
                    "journey_id": self.id,
                    "partner_id": cand["partner_id"],
                    "company_id": self.company_id.id,
                    "key": cand["key"],
                    "source_model": cand.get("source_model"),
                    "source_res_id": cand.get("source_res_id"),
                    "state": "running",
                    "step_id": first.id,
                    "enrolled_at": enrolled_at,
                    "next_action_at": journey_tools.step_due_time(
                        enrolled_at, None, first.wait_amount, first.wait_unit, first.wait_from
                    ),
                }
            )
        now = fields.Datetime.now()
        # one INSERT for the batch
        participants = insert_rows(
            self.env["sms.journey.participant"],
            rows,
            skip_conflict=("journey_id", "partner_id", "key"),
        )
        held = [
            pid
            for pid in participants.ids
            if flow.in_holdout(self.holdout_seed, pid, self.holdout_percent)
        ]
        if held:
            participants.browse(held).write({"holdout": True})
        # rows inserted in SQL: the ORM cache of the journey's one2many is stale
        self.invalidate_recordset(["participant_ids"])
        if participants:
            cron = self.env.ref("sms_journey.ir_cron_sms_journey_steps", raise_if_not_found=False)
            if cron:
                # from the values: reading them back would cost a query per 1,000 rows
                next_due = min(row["next_action_at"] for row in rows)
                cron._trigger(next_due if next_due > now else None)
        return participants

    # --- trigger candidates (read-only) ---------------------------------

    def _candidates_abandoned_cart(self, since, until):
        """Website carts idle for ``cart_idle_hours`` (and at most ``cart_max_age_hours``)
        whose idle moment falls in the window, never enrolled yet."""
        idle = timedelta(hours=self.cart_idle_hours or 1.0)
        # carts idle for longer than the max age by the time they would get their SMS are
        # left alone (the SMS goes out at the latest now, earlier carts are late already)
        send_time = min(until, fields.Datetime.now())
        oldest = send_time - idle - timedelta(hours=max(self.cart_max_age_hours or 48.0, 0))
        self.env["sale.order"].flush_model()
        self.env["sms.journey.participant"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """SELECT so.id, so.partner_id, so.date_order
                     FROM sale_order so
                     JOIN website w ON w.id = so.website_id
                     JOIN res_users u ON u.id = w.user_id
                    WHERE so.state = 'draft'
                      AND so.company_id = %(company)s
                      AND so.partner_id != u.partner_id
                      AND so.date_order > %(oldest)s
                      AND so.date_order <= %(until)s
                      AND EXISTS (SELECT 1 FROM sale_order_line l WHERE l.order_id = so.id)
                      AND NOT EXISTS (
                          SELECT 1 FROM sms_journey_participant p
                           WHERE p.journey_id = %(journey)s AND p.source_model = 'sale.order'
                             AND p.source_res_id = so.id)
                 ORDER BY so.date_order""",
                company=self.company_id.id,
                oldest=oldest,
                until=until - idle,
                journey=self.id,
            )
        )
        return [
            {
                "partner_id": partner_id,
                "key": f"sale.order,{order_id}",
                "moment": max(date_order + idle, since),
                "source_model": "sale.order",
                "source_res_id": order_id,
            }
            for order_id, partner_id, date_order in rows
        ]

    def _candidates_birthday(self, since, until):
        Partner = self.env["res.partner"]
        days = journey_tools.days_between(since - timedelta(days=2), until + timedelta(days=1))
        partner_ids = set()
        for day in days:
            partner_ids.update(Partner._sms_birthday_ids(day))
        result = []
        for partner in Partner.browse(sorted(partner_ids)):
            tz = partner_tz(partner)
            for moment in journey_tools.yearly_occurrences(
                partner.birthdate_date, since, until, self.send_hour, tz
            ):
                result.append({"partner_id": partner.id, "key": str(moment.year), "moment": moment})
        return result

    def _partners_by_month_day(self, column, day, table="res_partner"):
        Partner = self.env["res.partner"]
        if table == "res_partner":
            try:
                return list(Partner._sms_anniversary_ids(day, column))
            except ValueError:
                pass  # no indexed lookup for this field: plain SQL below
        Partner.flush_model([column])
        pairs = schedule.month_days_celebrated_on(day)
        conditions = SQL(" OR ").join(
            SQL(
                "(EXTRACT(MONTH FROM %s) = %s AND EXTRACT(DAY FROM %s) = %s)",
                SQL.identifier(column),
                month,
                SQL.identifier(column),
                mday,
            )
            for month, mday in pairs
        )
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM %s WHERE %s IS NOT NULL AND active AND (%s)",
                SQL.identifier(table),
                SQL.identifier(column),
                conditions,
            )
        )
        return [row[0] for row in rows]

    def _candidates_anniversary(self, since, until):
        Partner = self.env["res.partner"]
        field = self.anniversary_field_id
        days = journey_tools.days_between(since - timedelta(days=2), until + timedelta(days=1))
        origins = {}
        if field and field.name in Partner._fields and Partner._fields[field.name].store:
            ids = set()
            for day in days:
                ids.update(self._partners_by_month_day(field.name, day))
            for partner in Partner.browse(sorted(ids)):
                origins[partner] = partner[field.name]
        else:
            origins = self._first_order_dates(days)
        result = []
        for partner, origin in origins.items():
            if not origin:
                continue
            tz = partner_tz(partner)
            for moment in journey_tools.yearly_occurrences(
                origin, since, until, self.send_hour, tz, min_years=1
            ):
                result.append({"partner_id": partner.id, "key": str(moment.year), "moment": moment})
        return result

    def _first_order_dates(self, days):
        """Partners whose first confirmed order was on the month/day of ``days``."""
        Partner = self.env["res.partner"]
        ids = set()
        for day in days:
            ids.update(self._partners_by_month_day("first_order_date", day))
        return {p: p.first_order_date for p in Partner.browse(sorted(ids))}

    def _candidates_inactivity(self, since, until):
        """Contacts whose inactivity crosses ``inactivity_days`` within the window."""
        threshold = timedelta(days=self.inactivity_days or 0)
        since_date = (since - threshold).date()
        until_date = (until - threshold).date()
        if until_date <= since_date:
            return []
        Partner = self.env["res.partner"]
        partners = Partner.browse(Partner._sms_inactive_crossing_ids(since_date, until_date))
        dates = {p.id: p.last_activity_date for p in partners}
        result = []
        for pid, last in dates.items():
            if not last:
                continue
            last_day = last.date() if isinstance(last, datetime) else last
            moment = max(datetime.combine(last_day, time()) + threshold, since)
            result.append(
                {"partner_id": pid, "key": f"inactive:{last_day.isoformat()}", "moment": moment}
            )
        return result

    def _candidates_order_confirmed(self, since, until):
        orders = self.env["sale.order"].search(
            [
                ("state", "=", "sale"),
                ("company_id", "=", self.company_id.id),
                ("date_order", ">", since),
                ("date_order", "<=", until),
            ],
            order="date_order",
        )
        return [self._order_candidate(order, order.date_order) for order in orders]

    def _order_candidate(self, order, moment):
        return {
            "partner_id": order.partner_id.id,
            "key": f"sale.order,{order.id}",
            "moment": moment,
            "source_model": "sale.order",
            "source_res_id": order.id,
        }

    def _candidates_order_delivered(self, since, until):
        """Orders fully delivered in the window: pickings done when stock is installed,
        else orders whose lines are all delivered (manual delivered quantities)."""
        if "stock.picking" in self.env:
            pickings = self.env["stock.picking"].search(
                [
                    ("state", "=", "done"),
                    ("picking_type_code", "=", "outgoing"),
                    ("date_done", ">", since),
                    ("date_done", "<=", until),
                    ("sale_id", "!=", False),
                    ("company_id", "=", self.company_id.id),
                ]
            )
            return [self._order_candidate(p.sale_id, p.date_done) for p in pickings]
        orders = self.env["sale.order"].search(
            [
                ("state", "=", "sale"),
                ("company_id", "=", self.company_id.id),
                ("write_date", ">", since),
                ("write_date", "<=", until),
                ("order_line.qty_delivered", ">", 0),
            ]
        )
        result = []
        for order in orders:
            lines = order.order_line.filtered(lambda line: not line.display_type)
            if lines and all(line.qty_delivered >= line.product_uom_qty for line in lines):
                result.append(self._order_candidate(order, order.write_date))
        return result

    def _candidates_invoice_overdue(self, since, until):
        """Posted customer invoices unpaid ``overdue_days`` after their due date."""
        delay = timedelta(days=self.overdue_days or 0)
        moves = self.env["account.move"].search(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("company_id", "=", self.company_id.id),
                ("invoice_date_due", ">=", (since - delay - timedelta(days=2)).date()),
                ("invoice_date_due", "<=", (until - delay).date()),
            ],
            order="invoice_date_due",
        )
        result = []
        for move in moves:
            # overdue by ``overdue_days`` at midnight after the due date plus the delay
            moment = datetime.combine(move.invoice_date_due, time()) + delay + timedelta(days=1)
            if since < moment <= until:
                result.append(
                    {
                        "partner_id": move.partner_id.id,
                        "key": f"account.move,{move.id}",
                        "moment": moment,
                        "source_model": "account.move",
                        "source_res_id": move.id,
                    }
                )
        return result

    # --- payment reminders: days to pay, reminded or not ------------------------------

    reminder_invoice_count = fields.Integer(
        "Invoices reminded", compute="_compute_reminder_figures"
    )
    reminder_paid_count = fields.Integer(
        "Paid after a reminder", compute="_compute_reminder_figures"
    )
    reminder_days_to_pay = fields.Float(
        "Days to pay (reminded)",
        compute="_compute_reminder_figures",
        digits=(12, 1),
        help="Average days from the due date to the payment, of the reminded invoices paid.",
    )
    unreminded_invoice_count = fields.Integer(
        "Invoices not reminded",
        compute="_compute_reminder_figures",
        help="Customer invoices of the same company due in the same period (the first to "
        "the last due date of the reminded ones), overdue past the journey's threshold "
        "too, that no reminder journey texted.",
    )
    unreminded_paid_count = fields.Integer(
        "Paid without a reminder", compute="_compute_reminder_figures"
    )
    unreminded_days_to_pay = fields.Float(
        "Days to pay (not reminded)", compute="_compute_reminder_figures", digits=(12, 1)
    )

    def _compute_reminder_figures(self):
        for journey in self:
            figures = journey._reminder_figures() if journey.trigger == "invoice_overdue" else {}
            reminded = figures.get(True, (0, 0, 0.0))
            others = figures.get(False, (0, 0, 0.0))
            journey.reminder_invoice_count, journey.reminder_paid_count = reminded[:2]
            journey.reminder_days_to_pay = reminded[2]
            journey.unreminded_invoice_count, journey.unreminded_paid_count = others[:2]
            journey.unreminded_days_to_pay = others[2]

    def _reminder_figures(self):
        """{reminded: (invoices, paid, average days from due date to payment)} of this
        payment-reminder journey (True) and of the comparable invoices no reminder journey
        texted (False), in one query. The payment date is the invoice's last
        reconciliation (Odoo keeps no paid date)."""
        self.ensure_one()
        if not self.id:
            return {}
        self.env["sms.journey.participant"].flush_model(
            ["journey_id", "source_model", "source_res_id"]
        )
        self.env["account.move"].flush_model(
            ["move_type", "state", "company_id", "invoice_date_due", "payment_state"]
        )
        self.env["account.move.line"].flush_model(["move_id", "display_type"])
        self.env["account.partial.reconcile"].flush_model(["debit_move_id", "max_date"])
        rows = self.env.execute_query(
            SQL(
                """
                WITH reminded AS (
                    SELECT DISTINCT source_res_id AS move_id FROM sms_journey_participant
                     WHERE journey_id = %(journey)s AND source_model = 'account.move'
                ),
                any_reminded AS (
                    SELECT DISTINCT p.source_res_id AS move_id
                      FROM sms_journey_participant p
                      JOIN sms_journey j ON j.id = p.journey_id
                     WHERE j.trigger = 'invoice_overdue' AND p.source_model = 'account.move'
                ),
                period AS (
                    SELECT min(m.invoice_date_due) AS since, max(m.invoice_date_due) AS until
                      FROM account_move m JOIN reminded r ON r.move_id = m.id
                ),
                pool AS (
                    SELECT m.id, m.invoice_date_due AS due, m.payment_state,
                           m.id IN (SELECT move_id FROM reminded) AS reminded
                      FROM account_move m CROSS JOIN period
                     WHERE m.id IN (SELECT move_id FROM reminded)
                        OR (m.move_type = 'out_invoice' AND m.state = 'posted'
                            AND m.company_id = %(company)s
                            AND m.invoice_date_due BETWEEN period.since AND period.until
                            AND m.id NOT IN (SELECT move_id FROM any_reminded))
                ),
                paid AS (
                    SELECT l.move_id, max(r.max_date) AS paid_on
                      FROM account_move_line l
                      JOIN pool ON pool.id = l.move_id
                      JOIN account_partial_reconcile r ON r.debit_move_id = l.id
                     WHERE l.display_type = 'payment_term'
                     GROUP BY l.move_id
                ),
                facts AS (
                    SELECT pool.reminded, pool.due,
                           CASE WHEN pool.payment_state IN ('paid', 'in_payment')
                                THEN paid.paid_on END AS paid_on
                      FROM pool LEFT JOIN paid ON paid.move_id = pool.id
                )
                SELECT reminded, count(*), count(paid_on), COALESCE(avg(paid_on - due), 0)
                  FROM facts
                 -- comparable invoices were still unpaid when a reminder would have gone
                 WHERE reminded OR paid_on IS NULL OR paid_on > due + %(overdue)s
                 GROUP BY reminded
                """,
                journey=self.id,
                company=self.company_id.id,
                overdue=self.overdue_days or 0,
            )
        )
        return {reminded: (count, paid, float(days)) for reminded, count, paid, days in rows}
