from dataclasses import replace
from datetime import timedelta

from odoo import fields, models

from ..models.sms_journey import CATCH_UP_TRIGGERS
from ..models.sms_sender import PolicyItem
from ..tools import journey as journey_tools
from ..tools.encoding import analyze
from ..tools.journey import Candidate

# A preview lists a sample, not the whole audience.
PREVIEW_LIMIT = 500


class SmsJourneyPreview(models.TransientModel):
    """Dry run of a journey on live data: who would enter, which SMS each would get and
    when over the next days, with the rendered texts, segments and cost.

    Nothing is written outside this wizard (but an order's portal token, made as the
    step would, so that its link is the one sent): candidates come from the same read-only
    trigger queries as the enrolment cron, links are left unshortened and the path
    assumes no reaction (no click, reply or order): a branch step on a reaction takes
    its no path, one on the contact (consent, survey answer, filter) is decided on live
    data as the step cron will. Participants of the control group get no SMS; contacts
    not enrolled yet are not drawn (their id decides). The step rules are the step
    cron's own (``tools/journey.py``).
    """

    _name = "sms.journey.preview"
    _description = "SMS Journey Preview"

    journey_id = fields.Many2one("sms.journey", required=True, ondelete="cascade")
    days = fields.Integer("Next days", default=7, required=True)
    line_ids = fields.One2many("sms.journey.preview.line", "preview_id", readonly=True)
    partner_count = fields.Integer("Contacts", readonly=True)
    sms_count = fields.Integer("SMS", readonly=True)
    skipped_count = fields.Integer("Skipped", readonly=True)
    segment_count = fields.Integer("Segments", readonly=True)
    cost = fields.Float(digits=(12, 4), readonly=True)
    currency_id = fields.Many2one(related="journey_id.company_id.currency_id")

    def action_compute(self):
        """(Re)compute the preview lines."""
        self.ensure_one()
        self.line_ids.unlink()
        lines = self._simulate()
        self.env["sms.journey.preview.line"].create(
            [dict(line, preview_id=self.id) for line in lines]
        )
        sms = [line for line in lines if line["action"] == "sms" and not line["skip_reason"]]
        self.write(
            {
                "partner_count": len({line["partner_id"] for line in lines}),
                "sms_count": len(sms),
                "skipped_count": len([line for line in lines if line["skip_reason"]]),
                "segment_count": sum(line["segments"] for line in sms),
                "cost": sum(line["cost"] for line in sms),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _simulate(self, now=None):
        """Preview lines (dicts) of the journey between now and now + days."""
        journey = self.journey_id
        now = now or fields.Datetime.now()
        horizon = now + timedelta(days=max(self.days, 0))
        lines = []
        running = self.env["sms.journey.participant"].search(
            [("journey_id", "=", journey.id), ("state", "=", "running")],
            limit=PREVIEW_LIMIT,
            order="next_action_at, id",
        )
        for participant in running:
            if participant.step_id and participant.next_action_at:
                lines += self._walk(
                    participant.partner_id,
                    participant._source(),
                    participant.enrolled_at,
                    participant.step_id,
                    max(participant.next_action_at, now),
                    horizon,
                    participant=participant,
                )
        first = journey._first_step()
        if not first:
            return lines
        for cand in self._future_candidates(now, horizon):
            partner = self.env["res.partner"].browse(cand.partner_id)
            source = None
            if cand.source_model in self.env and cand.source_res_id:
                source = self.env[cand.source_model].browse(cand.source_res_id)
            [due] = first._due_times([(partner, cand.moment, None)])
            lines += self._walk(partner, source, cand.moment, first, max(due, now), horizon)
        return lines

    def _future_candidates(self, now, horizon):
        journey = self.journey_id
        if journey.trigger == "segment":
            start = journey.segment_next_run or now
            if journey.state == "running" and not journey.segment_run_key and start > horizon:
                return []
            partners = self.env["res.partner"].search(
                journey._audience(), order="id", limit=PREVIEW_LIMIT
            )
            moment = max(start, now)
            key = fields.Date.to_string(moment.date())
            candidates = [Candidate(p.id, key, moment) for p in partners]
            return journey._filter_candidates(candidates)
        if journey.state in ("running", "paused"):
            since, start = journey.enrol_checked_at or now, journey.date_start or now
        else:
            # as action_start would: the catch-up window, everybody entering now
            since, start = now, now
            if journey.trigger in CATCH_UP_TRIGGERS and journey.catch_up_days > 0:
                since = now - timedelta(days=journey.catch_up_days)
        candidates = journey._candidates(since, horizon)[:PREVIEW_LIMIT]
        return [replace(cand, moment=max(cand.moment, start)) for cand in candidates]

    def _walk(self, partner, source, enrolled_at, step, due, horizon, participant=None):
        """Steps of one participant from ``step`` due at ``due``, assuming no reaction,
        by the step cron's rules (``tools/journey.py``). An enrolled ``participant``
        brings its control-group flag and its A/B draws; a future one gets each step's
        winner, else its first variant."""
        holdout = bool(participant and participant.holdout)
        Participant = self.env["sms.journey.participant"]
        # the gateway the partner's SMS go through (its routes), for prices and allow-list
        gateway = self.env["sms.gateway"]._get_company_gateway(
            self.journey_id.company_id, partner._sms_number()
        )
        lines = []
        while step and due <= horizon:
            met = journey_tools.condition_met(
                step.condition,
                journey_tools.no_reaction,
                lambda step=step: Participant._partner_condition_met(step, partner),
            )
            outcome = journey_tools.step_outcome(step.action, met, holdout)
            line, done_at = self._walk_line(
                step, partner, source, due, outcome, gateway, participant
            )
            lines.append(line)
            if journey_tools.ends_journey(outcome, step.action):
                break
            if outcome.kind == journey_tools.BRANCH:
                following = step._branch_step(outcome.side)
            else:
                following = step._next_step()
            if not following:
                break
            [due] = following._due_times([(partner, enrolled_at, done_at)])
            step = following
        return lines

    def _walk_line(self, step, partner, source, due, outcome, gateway, participant):
        """The preview line of ``step`` due at ``due`` (its ``outcome`` from
        ``journey.step_outcome``) and when it is done, for the next step's wait."""
        line = {
            "partner_id": partner.id,
            "product_id": self._product_of(source),
            "step_id": step.id,
            "scheduled_at": due,
            "action": step.action,
            "body": False,
            "segments": 0,
            "encoding": False,
            "cost": 0.0,
            "skip_reason": False,
            "branch": outcome.side or False,
            # the contact's rhythm, which the trigger and the waits "× rhythm" read
            "order_gap_days": partner.sudo().sms_order_gap_days,
            "next_order_predicted": partner.sudo().sms_next_order_predicted,
        }
        if outcome.kind == journey_tools.SKIPPED:
            line["skip_reason"] = self.env._("Condition not met (assuming no reaction)")
        elif outcome.kind == journey_tools.HELD_OUT:
            line["skip_reason"] = self.env._("Control group: no SMS")
        elif outcome.kind == journey_tools.RUN and step.action in journey_tools.SMS_ACTIONS:
            price = gateway.price_per_segment if gateway else 0.0
            line.update(self._sms_line(step, partner, source, price, participant))
            if not line["skip_reason"]:
                verdict = self._verdict(step, partner, due, gateway)
                line["legal_windows"] = verdict.legal_windows
                if verdict.canceled:
                    # what the policy cancels never reaches the provider: it costs nothing
                    line.update(skip_reason=verdict.reason, cost=0.0)
                else:
                    line["scheduled_at"] = verdict.decision.due_at
                    if gateway:  # the price of the destination, as the outbox counts it
                        price = gateway._segment_price(verdict.number)
                        line["cost"] = journey_tools.cost_of(line["segments"], price)
                    return line, journey_tools.step_done_at(due, verdict.decision.due_at)
        return line, due

    def _verdict(self, step, partner, due, gateway):
        """The sending policy's verdict on this SMS at ``due`` through ``gateway`` (may
        be empty: Odoo's IAP), as the step cron will ask it (``sms.sender._decide``)."""
        journey = self.journey_id
        # survey questions are always marketing SMS
        kind = "marketing" if step.action == "survey" else journey.sms_kind
        number = partner._sms_number()
        item = PolicyItem(
            kind=kind,
            partner=partner,
            number=number,
            sanitized=bool(number) and number == partner.phone_sanitized,
        )
        return self.env["sms.sender"]._decide(
            journey.company_id, [item], now=due, timing=bool(gateway), gateway=gateway or None
        )[0]

    def _sms_line(self, step, partner, source, price, participant=None):
        variant = self.env["sms.journey.step.variant"]
        if step.action == "sms" and step.variant_ids:
            variant = (
                step._variant_for(participant)
                if participant
                else step.variant_winner_id
                or step.variant_ids.sorted(lambda v: (v.sequence, v.id))[:1]
            )
        template = variant.template_id or step.template_id
        if step.action == "survey" and not step.survey_question_id:
            return {"skip_reason": self.env._("No survey question on the step")}
        if step.action in ("sms", "appointment") and not template:
            return {"skip_reason": self.env._("No SMS template on the step")}
        if not partner._sms_number():
            return {"skip_reason": self.env._("The contact has no phone number")}
        # in the contact's language, as it will be sent
        lang = partner._sms_lang(step.journey_id.company_id)
        if step.action == "survey":
            body = step.survey_question_id.with_context(lang=lang).body
        elif step.action == "appointment":
            body = template.with_context(lang=lang).body  # rendered on the event when sent
        else:
            record = partner
            if step.render_on == "source" and source and source._name == template.model:
                record = source
            if record._name == "sale.order":
                # the link of the cart is the one the step will send (as the step's
                # _render_record does): the order's portal token, made once
                record._portal_ensure_token()
            Participant = self.env["sms.journey.participant"]
            body = Participant._render_body(template.with_context(lang=lang), record)
            body = Participant._fill_product(step, body, source)
        info = analyze(body or "")
        values = {
            "body": body,
            "segments": info.segments,
            "encoding": info.encoding,
            "cost": journey_tools.cost_of(info.segments, price),
            "variant_id": variant.id,
        }
        return values

    def _product_of(self, source):
        """The product a behaviour trigger enrols with (its source record), or False."""
        return source.id if source and source._name == "product.product" else False


class SmsJourneyPreviewLine(models.TransientModel):
    _name = "sms.journey.preview.line"
    _description = "SMS Journey Preview Line"
    _order = "scheduled_at, id"

    preview_id = fields.Many2one("sms.journey.preview", required=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", "Contact")
    product_id = fields.Many2one("product.product")
    step_id = fields.Many2one("sms.journey.step")
    scheduled_at = fields.Datetime("When")
    send_at_best_hour = fields.Boolean(related="step_id.send_at_best_hour", string="Best hour")
    action = fields.Selection(
        selection=lambda self: self.env["sms.journey.step"]._fields["action"].selection
    )
    body = fields.Text()
    encoding = fields.Char()
    segments = fields.Integer()
    cost = fields.Float(digits=(12, 4))
    currency_id = fields.Many2one(related="preview_id.currency_id")
    skip_reason = fields.Char("Skipped because")
    legal_windows = fields.Char("Legal send windows")
    branch = fields.Selection([("yes", "Yes"), ("no", "No")], "Path taken")
    variant_id = fields.Many2one("sms.journey.step.variant", "A/B variant")
    order_gap_days = fields.Float("Days between orders", digits=(16, 1))
    next_order_predicted = fields.Date("Next order expected")
