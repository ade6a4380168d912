import logging
import threading

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools import journey as journey_tools
from ..tools import keywords as keyword_tools

_logger = logging.getLogger(__name__)


def _testing():
    return getattr(threading.current_thread(), "testing", False)


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

    journey_id = fields.Many2one("sms.journey", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", index=True)
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
    step_id = fields.Many2one("sms.journey.step", "Next step", ondelete="set null", index=True)
    enrolled_at = fields.Datetime(required=True, default=fields.Datetime.now)
    next_action_at = fields.Datetime("Next action", index=True)
    ended_at = fields.Datetime()
    last_sms_at = fields.Datetime("Last SMS")
    converted = fields.Boolean()
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
    def _cron_execute_due(self, batch_size=200):
        """Run the due steps of running journeys, ``batch_size`` participants per call."""
        claimed = self._claim_due(batch_size)
        for participant in claimed:
            try:
                with self.env.cr.savepoint():
                    # SMS and records are made for the journey's company
                    participant.with_company(participant.journey_id.company_id)._execute_step()
            except Exception:
                # one broken participant must not block the batch
                _logger.exception("Journey step failed for participant %s", participant.id)
                participant._exit(_("Error while running the step"))
        if claimed and not _testing():
            self.env.cr.commit()  # the batch is done: release the claimed rows
        remaining = self._due_domain_count()
        self.env["ir.cron"]._notify_progress(done=len(claimed), remaining=remaining)
        return claimed

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

    def _execute_step(self):
        """Run this participant's due step and plan the next one."""
        self.ensure_one()
        now = fields.Datetime.now()
        step = self.step_id
        if self.state != "running":
            return
        if not step:
            self._complete()
            return
        reason = self._exit_reason()
        if reason:
            state = "opted_out" if reason == "opted_out" else "exited"
            self._exit(self._exit_label(reason), state=state)
            return
        trace = self.env["sms.journey.trace"].create(
            {"participant_id": self.id, "step_id": step.id, "action": step.action}
        )
        if not self._condition_met(step):
            labels = dict(step._fields["condition"]._description_selection(self.env))
            trace._skip(_("Condition not met: %(cond)s", cond=labels.get(step.condition)))
            self._advance(step, now)
            return
        done_at = getattr(self, f"_action_{step.action}")(step, trace)
        if self.state != "running":
            return
        self._advance(step, max(done_at or now, now))

    def _advance(self, step, done_at):
        following = step._next_step()
        if not following:
            self._complete()
            return
        due = journey_tools.step_due_time(
            self.enrolled_at,
            done_at,
            following.wait_amount,
            following.wait_unit,
            following.wait_from,
        )
        self.write({"step_id": following.id, "next_action_at": due})

    def _complete(self, reason=False):
        self.write(
            {
                "state": "completed",
                "exit_reason": reason,
                "next_action_at": False,
                "ended_at": fields.Datetime.now(),
            }
        )

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

    def _exit_reason(self):
        """Why this participant must leave before the next step (a code), or False."""
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
        return self.trace_ids.filtered(lambda t: t.action == "sms" and t.state == "sent").sorted(
            "id"
        )[-1:]

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
        if condition == "consenting":
            return self.partner_id.sms_consent_state == "opted_in"
        return True

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
        """Render, shorten links per trace and send through Odoo's SMS API."""
        partner = self.partner_id
        journey = self.journey_id
        template = step.template_id
        if not template:
            trace._skip(_("No SMS template on the step"))
            return None
        if not (partner.mobile or partner.phone):
            trace._skip(_("The contact has no phone number"))
            return None
        record = self._render_record(step)
        body = self._render_body(template, record)
        body = trace._track_links(body)
        kind = journey.sms_kind
        thread = (
            record if record._name != "res.partner" and hasattr(record, "_message_sms") else partner
        )
        message = (
            thread.with_context(sms_kind=kind).sudo()._message_sms(body, partner_ids=partner.ids)
        )
        return trace._record_sent(message, body)

    def _render_record(self, step):
        record = None
        if step.render_on == "source":
            record = self._source()
        if not record or record._name != step.template_id.model:
            record = self.partner_id
        if record._name == "sale.order":
            record._portal_ensure_token()
        return record

    def _render_body(self, template, record):
        if template.model != record._name:
            # a template made for another model: render its text on the contact anyway
            return template._render_template(
                template.body, record._name, record.ids, engine="inline_template"
            )[record.id]
        return template._render_field("body", record.ids, compute_lang=True)[record.id]

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
        self.partner_id._sms_consent_set("opted_out", "api", proof)
        trace._done()
        self._exit(_("Moved to the unsubscribed list"), state="opted_out")

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


def partner_tz(partner):
    """The time zone journeys use for ``partner``."""
    return partner.tz or partner.env.company.partner_id.tz or "UTC"


def make_active(partner, when):
    """Move ``partner`` back to active: a fresh interaction resets its inactivity (when
    res.partner tracks it) and a stage named ``active`` is set if there is one."""
    if hasattr(partner, "_sms_touch_interaction"):
        partner.sudo()._sms_touch_interaction(when)
    set_journey_stage(partner, "active")


def set_journey_stage(partner, stage):
    """Set ``journey_stage`` when res.partner has that field (it is added elsewhere)."""
    if not stage or "journey_stage" not in partner._fields:
        return
    field = partner._fields["journey_stage"]
    if field.type == "selection":
        values = [v for v, _label in field._description_selection(partner.env)]
        if stage not in values:
            return
    partner.sudo().write({"journey_stage": stage})
