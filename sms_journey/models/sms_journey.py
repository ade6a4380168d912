import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import flow, stats
from ..tools import journey as journey_tools

# triggers whose contacts past the threshold can be caught up on activation
CATCH_UP_TRIGGERS = ("inactivity", "due_to_reorder", "invoice_overdue")

TRIGGERS = [
    ("abandoned_cart", "Abandoned cart"),
    ("browse_abandonment", "Browse abandonment"),
    ("price_drop", "Price drop"),
    ("birthday", "Birthday"),
    ("anniversary", "Anniversary"),
    ("inactivity", "Inactivity"),
    ("due_to_reorder", "Due to reorder"),
    ("order_confirmed", "Order confirmed"),
    ("order_delivered", "Order delivered"),
    ("invoice_overdue", "Invoice overdue"),
    ("segment", "Segment"),
]


class SmsJourney(models.Model):
    """An automated SMS journey: a trigger enrols partners (optionally with a source
    record such as a cart), then steps run in sequence for each participant.

    Two crons drive it: ``_cron_enrol`` evaluates the triggers of running journeys
    (``sms_journey_enrolment.py``, the triggers in ``sms_journey_triggers.py``) and
    ``sms.journey.participant._cron_execute_due`` runs the steps that are due. Every SMS
    goes through Odoo's SMS API and so through the outbox's consent, quiet-hour and
    frequency rules. This file holds the settings, the figures, the flow and the state
    buttons; the payment reminders' figures are in ``sms_journey_reminders.py``.
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
    treated_revenue_per_head = fields.Monetary(
        "Treated revenue per head",
        compute="_compute_holdout_results",
        currency_field="sms_currency_id",
    )
    control_revenue_per_head = fields.Monetary(
        "Control revenue per head",
        compute="_compute_holdout_results",
        currency_field="sms_currency_id",
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
            journey.holdout_summary = self.env._(
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
        Step = self.env["sms.journey.step"]
        labels = {
            "action": dict(Step._fields["action"]._description_selection(self.env)),
            "condition": dict(Step._fields["condition"]._description_selection(self.env)),
        }
        nodes = steps[:1]._flow_nodes() if steps else []
        by_id = {step.id: step for step in steps}
        return [
            self._flow_card(by_id[node.id], nodes, by_id, labels) for node in flow.path_of(nodes)
        ]

    def _flow_card(self, step, nodes, by_id, labels):
        """The card of ``step`` in ``get_flow``, with the cards of its paths."""
        actions = labels["action"]
        subtitle = []
        if step.wait_amount or step.wait_unit == "gap":
            subtitle.append(step._wait_label())
        if step.condition != "none":
            subtitle.append(self.env._("if: %(cond)s", cond=labels["condition"][step.condition]))
        paths = {}
        if step.action == "branch":
            paths = {
                side: [
                    self._flow_card(by_id[n.id], nodes, by_id, labels)
                    for n in flow.path_of(nodes, step.id, side)
                ]
                for side in flow.SIDES
            }
        return {
            "id": step.id,
            "name": step.name or actions[step.action],
            "action": step.action,
            "action_label": actions[step.action],
            "subtitle": ", ".join(subtitle),
            "figures": self._flow_figures(step),
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
            "paths": paths,
        }

    def _flow_figures(self, step):
        """The (label, figure) pairs of ``step``'s card."""
        if step.action == "branch":
            return [
                (self.env._("Waiting"), step.waiting_count),
                (self.env._("Yes"), step.yes_count),
                (self.env._("No"), step.no_count),
            ]
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
        return figures

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
            raise UserError(self.env._("The flow adds SMS steps and branches."))
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
            "name": self.env._("New SMS step") if kind == "sms" else self.env._("New branch"),
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
                raise UserError(self.env._("Add at least one step to %(name)s.", name=journey.name))
            vals = {"state": "running"}
            if journey.state in ("draft", "stopped"):
                now = fields.Datetime.now()
                checked = now
                if journey.trigger in CATCH_UP_TRIGGERS and journey.catch_up_days > 0:
                    checked = now - timedelta(days=journey.catch_up_days)
                # a window left pending by a stop is dropped (``sms_journey_window.py``)
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
        running._exit(self.env._("Journey stopped"))
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
        action["domain"] = [
            ("journey_id", "=", self.id),
            ("action", "in", journey_tools.SMS_ACTIONS),
        ]
        return action

    def action_view_orders(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Attributed orders"),
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
            "name": self.env._("Preview: %(name)s", name=self.name),
            "res_model": "sms.journey.preview",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    # ------------------------------------------------------------------
    # Enrolment
    # ------------------------------------------------------------------

    def _compute_facts_backfill_progress(self):
        progress = self.env["res.partner"]._sms_facts_backfill_progress()
        for journey in self:
            journey.facts_backfill_running = progress is not None
            journey.facts_backfill_progress = progress or 0

    # --- trigger candidates (read-only) ---------------------------------
