from odoo import _, api, fields, models

from ..tools.encoding import analyze

CONDITIONS = [
    ("none", "Always"),
    ("clicked", "Clicked the previous SMS"),
    ("not_clicked", "Did not click the previous SMS"),
    ("replied", "Replied to the previous SMS"),
    ("not_replied", "Did not reply to the previous SMS"),
    ("keyword", "Replied a keyword"),
    ("ordered", "Ordered since the previous SMS"),
    ("not_ordered", "Did not order since the previous SMS"),
    ("consenting", "Still consents to SMS"),
]
ACTIONS = [
    ("sms", "Send an SMS"),
    ("survey", "Ask a survey question"),
    ("appointment", "Send an appointment reminder (reply C/A/R)"),
    ("tag_add", "Add a tag"),
    ("tag_remove", "Remove a tag"),
    ("set_stage", "Set the journey stage"),
    ("set_active", "Move to active"),
    ("opt_out", "Move to the unsubscribed list"),
    ("activity", "Schedule an activity"),
    ("end", "End the journey"),
]
# Beyond this an SMS costs more than it is worth: the form warns.
MAX_SEGMENTS = 3
MAX_CHARS = 480


class SmsJourneyStep(models.Model):
    """One step of a journey: wait, check a condition, act.

    Participants point at their next step, so editing a later step of a running
    journey applies to everyone who has not passed it yet.
    """

    _name = "sms.journey.step"
    _inherit = ["sms.result.mixin"]
    _sms_result_field = "step_id"
    _description = "SMS Journey Step"
    _order = "sequence, id"

    journey_id = fields.Many2one("sms.journey", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(compute="_compute_name", store=True, readonly=False)
    wait_amount = fields.Integer("Wait", default=0)
    wait_unit = fields.Selection(
        [("hours", "Hours"), ("days", "Days")], default="days", required=True
    )
    wait_from = fields.Selection(
        [("previous", "after the previous step"), ("enrolment", "after enrolment")],
        default="previous",
        required=True,
    )
    condition = fields.Selection(CONDITIONS, default="none", required=True)
    condition_keyword = fields.Char("Keyword")
    action = fields.Selection(ACTIONS, default="sms", required=True)
    template_id = fields.Many2one("sms.template", "SMS template", ondelete="restrict")
    render_on = fields.Selection(
        [("partner", "Contact"), ("source", "Source record (cart, order…)")],
        default="partner",
        required=True,
        help="Record the template's placeholders are rendered on.",
    )
    survey_question_id = fields.Many2one(
        "sms.survey.question",
        "Survey question",
        ondelete="restrict",
        help="Texted to the contact; the reply within the question's delay is its answer "
        "and counts as a reply for the next steps' conditions.",
    )
    appointment_days = fields.Integer(
        "Appointments within (days)",
        default=2,
        help="The contact's next appointment starting within this many days gets the "
        "reminder (an SMS template of Calendar Event posted on the event, so C/A/R "
        "replies confirm, cancel or ask to reschedule it).",
    )
    tag_id = fields.Many2one("res.partner.category", "Tag")
    stage_value = fields.Char("Journey stage")
    activity_type_id = fields.Many2one("mail.activity.type", "Activity type")
    activity_summary = fields.Char("Activity summary")
    body_info = fields.Char("Length", compute="_compute_body_info")
    body_warning = fields.Boolean(compute="_compute_body_info")
    # measurement
    # sent, clicked, replied, …, revenue: sms.result.mixin
    skipped_count = fields.Integer("Skipped", compute="_compute_statistics")
    waiting_count = fields.Integer("Waiting", compute="_compute_statistics")

    @api.depends("action", "template_id", "wait_amount", "wait_unit", "condition")
    def _compute_name(self):
        labels = dict(ACTIONS)
        for step in self:
            label = step.template_id.name if step.action == "sms" else labels.get(step.action)
            step.name = label or _("Step")

    @api.depends("template_id.body", "action")
    def _compute_body_info(self):
        for step in self:
            if step.action != "sms" or not step.template_id.body:
                step.body_info = False
                step.body_warning = False
                continue
            info = analyze(step.template_id.body)
            step.body_warning = info.segments > MAX_SEGMENTS or info.length > MAX_CHARS
            step.body_info = _(
                "%(length)s characters, %(encoding)s, %(segments)s segment(s)%(warn)s",
                length=info.length,
                encoding=info.encoding,
                segments=info.segments,
                warn=_(" — too long") if step.body_warning else "",
            )

    def _compute_statistics(self):
        Trace = self.env["sms.journey.trace"]
        counts = {}
        if self.ids:
            for step, state, count in Trace._read_group(
                [("step_id", "in", self.ids)], ["step_id", "state"], ["__count"]
            ):
                counts.setdefault(step.id, {})[state] = count
            for step, count in self.env["sms.journey.participant"]._read_group(
                [("step_id", "in", self.ids), ("state", "=", "running")], ["step_id"], ["__count"]
            ):
                counts.setdefault(step.id, {})["waiting"] = count
        for step in self:
            row = counts.get(step.id, {})
            step.skipped_count = row.get("skipped", 0)
            step.waiting_count = row.get("waiting", 0)

    def unlink(self):
        """Participants waiting at a removed step move on to the step after it."""
        for step in self:
            waiting = self.env["sms.journey.participant"].search(
                [("step_id", "=", step.id), ("state", "=", "running")]
            )
            if waiting:
                following = step._next_step()
                while following and following in self:
                    following = following._next_step()
                waiting.write({"step_id": following.id or False})
        return super().unlink()

    def _next_step(self):
        """The step after this one in its journey (empty at the end)."""
        self.ensure_one()
        # sorted in Python on the cached steps: the step cron asks for every participant
        steps = self.journey_id.step_ids.sorted(lambda s: (s.sequence, s.id))
        following = steps.filtered(lambda s: (s.sequence, s.id) > (self.sequence, self.id))
        return following[:1]

    # --- coupons: {{ coupon_code }} in the step's SMS ------------------------------

    loyalty_program_id = fields.Many2one(
        "loyalty.program",
        "Coupon program",
        domain="[('program_type', '=', 'coupons')]",
        ondelete="restrict",
        help="Each participant gets one single-use coupon of this program, inserted where "
        "the template says {{ coupon_code }}.",
    )
    coupon_validity_days = fields.Integer(
        "Coupon valid for (days)",
        default=7,
        help="The coupon expires this many days after the SMS (the program's own limits "
        "apply too).",
    )
