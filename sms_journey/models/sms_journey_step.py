from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import flow, stats
from ..tools.encoding import ADVISED_MAX_LENGTH, ADVISED_MAX_SEGMENTS, analyze
from .sms_journey_step_variant import METRIC_FIELDS, METRICS
from .sms_template import COUPON_PLACEHOLDER

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
    ("survey", "Survey answer"),
    ("odoo_survey", "Completed an Odoo survey"),
    ("partner", "Contact matches a filter"),
]
SURVEY_OPERATORS = [("=", "is"), (">=", "at least"), ("<=", "at most")]
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
    ("branch", "Split on the condition (yes / no paths)"),
    ("end", "End the journey"),
]


# the stored totals of a step's traces (``sms_journey_step_total``, sms.result.snapshot)
STEP_TOTALS = ("skipped", "held_out", "converted", "yes", "no")


class SmsJourneyStep(models.Model):
    """One step of a journey: wait, check a condition, act.

    A *branch* step (``action = 'branch'``) acts by its condition: participants who
    meet it take its ``yes`` path, the others its ``no`` path; the steps of a path point
    at the branch step (``parent_id``, ``branch_side``). A path that runs out rejoins
    the step after its branch step; an ``end`` or ``opt_out`` step ends it
    (``tools/flow.py``).

    Participants point at their next step, so editing a later step of a running
    journey applies to everyone who has not passed it yet.
    """

    _name = "sms.journey.step"
    _inherit = ["sms.result.mixin"]
    _sms_result_field = "step_id"
    _description = "SMS Journey Step"
    _order = "sequence, id"
    _check_company_auto = True

    journey_id = fields.Many2one(
        "sms.journey", required=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="journey_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    # translatable: a computed name is written in every installed language
    # (_compute_name); the shipped steps are named in their data, their translations
    # come from the .po files
    name = fields.Char(compute="_compute_name", store=True, readonly=False, translate=True)
    wait_amount = fields.Integer(
        "Wait",
        default=0,
        help="Hours or days; with the contact's rhythm, the days waited by contacts "
        "without an order gap.",
    )
    wait_unit = fields.Selection(
        [("hours", "Hours"), ("days", "Days"), ("gap", "× the contact's rhythm")],
        default="days",
        required=True,
        help="× the contact's rhythm: a multiple of the typical days between the "
        "contact's orders (e.g. 1.5×), the fixed days for contacts without one.",
    )
    wait_gap_factor = fields.Float(
        "× rhythm",
        default=1.0,
        digits=(4, 2),
        help="How many times the contact's order gap to wait (with the unit "
        "'× the contact's rhythm').",
    )
    wait_from = fields.Selection(
        [("previous", "after the previous step"), ("enrolment", "after enrolment")],
        default="previous",
        required=True,
    )
    condition = fields.Selection(CONDITIONS, default="none", required=True)
    condition_keyword = fields.Char("Keyword")
    condition_question_id = fields.Many2one(
        "sms.survey.question",
        "Answer to",
        ondelete="restrict",
        check_company=True,
        help="The contact's latest answer to this question is compared.",
    )
    condition_survey_id = fields.Many2one(
        "survey.survey",
        "Odoo survey",
        ondelete="restrict",
        help="Met when the contact completed this survey (its latest completed answer); "
        "with a value, its score (%) is compared too.",
    )
    condition_operator = fields.Selection(SURVEY_OPERATORS, "Answer", default="=")
    condition_value = fields.Char(
        "Value", help="The answer to compare; for an Odoo survey, its score in % (optional)."
    )
    condition_domain = fields.Char("Contact filter", default="[]")
    parent_id = fields.Many2one(
        "sms.journey.step",
        "Branch step",
        ondelete="cascade",
        copy=False,  # sms.journey.copy points the copies at the copied branch steps
        index="btree_not_null",
        check_company=True,
        domain="[('journey_id', '=', journey_id), ('action', '=', 'branch')]",
        help="The branch step whose path holds this step; empty on the main path.",
    )
    branch_side = fields.Selection(
        [("yes", "Yes path"), ("no", "No path")],
        "Path",
        help="Which path of the branch step holds this step.",
    )
    child_ids = fields.One2many("sms.journey.step", "parent_id", "Steps of the paths")
    # A/B test of an SMS step
    variant_ids = fields.One2many("sms.journey.step.variant", "step_id", "A/B variants", copy=True)
    variant_metric = fields.Selection(METRICS, "Winner by", default="click", required=True)
    variant_min_sample = fields.Integer(
        "Minimum sample per variant",
        default=100,
        help="The test is decided once every variant was sent this many times…",
    )
    variant_max_days = fields.Integer(
        "Or after (days)",
        default=14,
        help="…or this many days after its first SMS (0: only on the sample).",
    )
    variant_winner_id = fields.Many2one(
        "sms.journey.step.variant",
        "Winner",
        readonly=True,
        copy=False,
        ondelete="set null",
        check_company=True,
    )
    variant_decided_at = fields.Datetime("Decided on", readonly=True, copy=False)
    variant_decision = fields.Text("Decision", readonly=True, copy=False)
    action = fields.Selection(ACTIONS, default="sms", required=True)
    template_id = fields.Many2one("sms.template", "SMS template", ondelete="restrict")
    template_body = fields.Char(
        "Message",
        compute="_compute_template_body",
        inverse="_inverse_template_body",
        help="The template's text, typed here with the SMS counter; other steps using "
        "the same template change with it.",
    )
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
        check_company=True,
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
    tag_id = fields.Many2one("res.partner.category")
    stage_value = fields.Char("Journey stage")
    activity_type_id = fields.Many2one("mail.activity.type", "Activity type")
    activity_summary = fields.Char("Activity summary")
    body_info = fields.Char("Length", compute="_compute_body_info")
    body_warning = fields.Boolean(compute="_compute_body_info")
    # measurement
    # sent, clicked, replied, …, revenue: sms.result.mixin
    skipped_count = fields.Integer("Skipped", compute="_compute_statistics")
    waiting_count = fields.Integer("Waiting", compute="_compute_statistics")
    converted_count = fields.Integer("Converted", compute="_compute_statistics")
    held_out_count = fields.Integer("Held out", compute="_compute_statistics")
    yes_count = fields.Integer("Took yes", compute="_compute_statistics")
    no_count = fields.Integer("Took no", compute="_compute_statistics")
    # coupons: {{ coupon_code }} in the step's SMS
    loyalty_program_id = fields.Many2one(
        "loyalty.program",
        "Coupon program",
        domain="[('program_type', '=', 'coupons')]",
        ondelete="restrict",
        check_company=True,
        help="Each participant gets one single-use coupon of this program, inserted where "
        "the template says {{ coupon_code }}.",
    )
    coupon_validity_days = fields.Integer(
        "Coupon valid for (days)",
        default=7,
        help="The coupon expires this many days after the SMS (the program's own limits "
        "apply too).",
    )
    # landing pages: {{ landing_url }} in the step's SMS
    landing_type = fields.Selection(
        [
            ("page", "Website page"),
            ("product", "Product"),
            ("promotion", "Promotion"),
            ("survey", "Odoo survey"),
        ],
        "Link to",
        help="Where {{ landing_url }} in the SMS takes the contact, through the SMS's own "
        "tracked short link. A survey opens for that contact: the answer is recorded on "
        "the contact and the journey participant.",
    )
    landing_page_id = fields.Many2one("website.page", "Page", ondelete="restrict")
    landing_product_id = fields.Many2one(
        "product.product",
        "Product",
        ondelete="restrict",
        check_company=True,
        help="Empty on a browse-abandonment or price-drop journey: the product viewed.",
    )
    journey_trigger = fields.Selection(related="journey_id.trigger")
    landing_program_id = fields.Many2one(
        "loyalty.program",
        "Promotion program",
        ondelete="restrict",
        check_company=True,
        help="The link applies the program's code to the cart (a coupons program: the "
        "contact's own coupon of the step), then opens the shop.",
    )
    landing_survey_id = fields.Many2one("survey.survey", "Survey", ondelete="restrict")
    landing_path = fields.Char("Landing page", compute="_compute_landing_path")

    _sql_constraints = [
        (
            "branch_side_set",
            "CHECK(parent_id IS NULL OR branch_side IS NOT NULL)",
            "A step on a branch path says which path (yes or no).",
        ),
    ]

    @api.constrains("parent_id", "journey_id")
    def _check_parent_id(self):
        for step in self.filtered("parent_id"):
            if step.parent_id.journey_id != step.journey_id or step.parent_id.action != "branch":
                raise ValidationError(
                    self.env._("A path step belongs to a branch step of the same journey.")
                )
        if self._has_cycle():
            raise ValidationError(self.env._("A branch step cannot be on one of its own paths."))

    @api.depends("action", "template_id", "wait_amount", "wait_unit", "condition")
    def _compute_name(self):
        # Every installed language at once: a name computed in the user's language
        # only would leave the others on the previous template's or condition's name.
        for lang, _lang_name in self.env["res.lang"].get_installed():
            steps = self.with_context(lang=lang)
            labels = dict(self._fields["action"]._description_selection(steps.env))
            conditions = dict(self._fields["condition"]._description_selection(steps.env))
            for step in steps:
                label = step.template_id.name if step.action == "sms" else labels.get(step.action)
                if step.action == "branch":
                    label = steps.env._("Split: %(cond)s", cond=conditions.get(step.condition))
                step.name = label or steps.env._("Step")

    @api.depends("template_id.body")
    def _compute_template_body(self):
        for step in self:
            step.template_body = step.template_id.body

    def _inverse_template_body(self):
        # The form sends the text back with the step even when only the template was
        # picked: the template is written only when its text changed, so that choosing
        # a template needs no right to edit it.
        for step in self:
            if step.template_id and step.template_id.body != step.template_body:
                step.template_id.body = step.template_body

    @api.depends("template_id.body", "action")
    def _compute_body_info(self):
        for step in self:
            if step.action != "sms" or not step.template_id.body:
                step.body_info = False
                step.body_warning = False
                continue
            info = analyze(step.template_id.body)
            step.body_warning = (
                info.segments > ADVISED_MAX_SEGMENTS or info.length > ADVISED_MAX_LENGTH
            )
            step.body_info = self.env._(
                "%(length)s characters, %(encoding)s, %(segments)s segment(s)%(warn)s",
                length=info.length,
                encoding=info.encoding,
                segments=info.segments,
                warn=self.env._(" — too long") if step.body_warning else "",
            )

    def _compute_statistics(self):
        """What the steps did: skipped, held out, converted, the paths taken, from the
        stored totals (``sms_journey_step_total``, as of the results' last refresh);
        the participants waiting at each step, live."""
        counts = {}
        if self.ids:
            for step_id, *row in self.env.execute_query(
                SQL(
                    """SELECT step_id, skipped, held_out, converted, yes, no
                         FROM sms_journey_step_total WHERE step_id = ANY(%s)""",
                    self.ids,
                )
            ):
                counts[step_id] = dict(zip(STEP_TOTALS, row, strict=True))
            for step, count in self.env["sms.journey.participant"]._read_group(
                [("step_id", "in", self.ids), ("state", "=", "running")], ["step_id"], ["__count"]
            ):
                counts.setdefault(step.id, {})["waiting"] = count
        for step in self:
            row = counts.get(step.id, {})
            step.skipped_count = row.get("skipped", 0)
            step.waiting_count = row.get("waiting", 0)
            step.held_out_count = row.get("held_out", 0)
            step.converted_count = row.get("converted", 0)
            step.yes_count = row.get("yes", 0)
            step.no_count = row.get("no", 0)

    def unlink(self):
        """Participants waiting at a removed step move on to the step after it (at the end
        of a path: the step after its branch step); a removed branch step takes its paths
        with it."""
        removed = self
        children = self.child_ids
        while children - removed:
            removed |= children
            children = removed.child_ids
        for step in removed:
            waiting = self.env["sms.journey.participant"].search(
                [("step_id", "=", step.id), ("state", "=", "running")]
            )
            if waiting:
                following = step._next_step()
                while following and following in removed:
                    following = following._next_step()
                waiting.write({"step_id": following.id or False})
        return super(SmsJourneyStep, removed).unlink()

    # --- A/B variants (tools/flow.py draws, tools/stats.py decides) --------

    def _missing_content(self):
        """What this step needs before it can text anyone (None if nothing): the SMS of
        an SMS or appointment step is its template (or its A/B variants), a survey
        step's is its question."""
        self.ensure_one()
        if self.action == "sms" and not (self.template_id or self.variant_ids):
            return self.env._("an SMS template")
        if self.action == "appointment" and not self.template_id:
            return self.env._("an SMS template")
        if self.action == "survey" and not self.survey_question_id:
            return self.env._("a survey question")
        return None

    @api.constrains("action", "template_id", "variant_ids", "survey_question_id", "journey_id")
    def _check_content_while_running(self):
        # A participant reaching an empty step is skipped ("No SMS template on the step"):
        # a journey that runs gets no such step. A draft journey may hold one half-written.
        for step in self.filtered(lambda s: s.journey_id.state in ("running", "paused")):
            missing = step._missing_content()
            if missing:
                raise ValidationError(
                    self.env._(
                        "%(journey)s is running: its step “%(step)s” needs %(missing)s "
                        "before it is saved.",
                        journey=step.journey_id.name,
                        step=step.name,
                        missing=missing,
                    )
                )

    @api.constrains("variant_ids")
    def _check_variant_ids(self):
        for step in self:
            if len(step.variant_ids) > 4:
                raise ValidationError(self.env._("An A/B test holds 2 to 4 variants."))

    def _variant_for(self, participant):
        """The variant ``participant`` gets: the winner once there is one, else a draw
        by the journey's seed, the step and the participant id (empty without
        variants)."""
        self.ensure_one()
        variants = self.variant_ids.sorted(lambda v: (v.sequence, v.id))
        if not variants or self.variant_winner_id:
            return self.variant_winner_id
        index = flow.pick_variant(
            self.journey_id.holdout_seed, participant.id, variants.mapped("weight"), salt=self.id
        )
        return variants[index]

    def _variant_figures(self):
        """{step id: {variant id: (SMS sent, successes by the step's metric)}}, a few
        grouped queries for all the steps."""
        Trace = self.env["sms.journey.trace"]
        figures = {}
        base = [("step_id", "in", self.ids), ("variant_id", "!=", False), ("state", "=", "sent")]
        for step, variant, count in Trace._read_group(base, ["step_id", "variant_id"], ["__count"]):
            figures.setdefault(step.id, {})[variant.id] = (count, 0)
        for metric, column in METRIC_FIELDS.items():
            steps = self.filtered(lambda s, m=metric: s.variant_metric == m)
            if not steps:
                continue
            domain = [("step_id", "in", steps.ids), ("variant_id", "!=", False)]
            domain += [("state", "=", "sent"), (column, "!=", False)]
            for step, variant, count in Trace._read_group(
                domain, ["step_id", "variant_id"], ["__count"]
            ):
                sent, _successes = figures[step.id][variant.id]
                figures[step.id][variant.id] = (sent, count)
        return figures

    def _decide_variant_winner(self, now):
        """Pick the winner of these A/B steps whose test is due: every variant reached
        the minimum sample, or the maximum days passed since the first SMS. The best
        rate wins when a two-proportion z-test against the runner-up is significant at
        95 %; otherwise the split goes on and the figures are recorded."""
        open_tests = self.filtered(lambda s: len(s.variant_ids) >= 2 and not s.variant_winner_id)
        if not open_tests:
            return
        figures = open_tests._variant_figures()
        started = dict(
            self.env["sms.journey.trace"]._read_group(
                [("step_id", "in", open_tests.ids), ("variant_id", "!=", False)],
                ["step_id"],
                ["executed_at:min"],
            )
        )
        for step in open_tests:
            counts = figures.get(step.id, {})
            arms = [stats.Arm(v, *counts.get(v.id, (0, 0))) for v in step.variant_ids]
            first = started.get(step)
            sampled = all(arm.n >= max(step.variant_min_sample, 1) for arm in arms)
            timed_out = bool(
                step.variant_max_days
                and first
                and now >= first + timedelta(days=step.variant_max_days)
            )
            if not (sampled or timed_out):
                continue
            winner = stats.pick_winner(arms, confidence=0.95)
            metric = dict(METRICS)[step.variant_metric].lower()
            if winner.key is None:
                step.variant_decision = self.env._(
                    "No significant difference yet in %(metric)s (z = %(z).2f, p = %(p).3f): "
                    "the split goes on. %(figures)s",
                    metric=metric,
                    z=winner.z,
                    p=winner.p_value,
                    figures=step._variant_summary(arms),
                )
                continue
            step._set_variant_winner(
                winner.key,
                self.env._(
                    "Won on %(metric)s: two-proportion z-test against the runner-up, "
                    "z = %(z).2f, p = %(p).4f < 0.05 (95 %% confidence).",
                    metric=metric,
                    z=winner.z,
                    p=winner.p_value,
                ),
                arms,
                now,
            )

    def _variant_summary(self, arms):
        return "; ".join(
            f"{arm.key.name}: {arm.successes}/{arm.n} ({100.0 * arm.rate:.2f} %)" for arm in arms
        )

    def _set_variant_winner(self, variant, reason, arms=None, now=None):
        """Record ``variant`` as the winner, with why and the figures of each variant."""
        self.ensure_one()
        if arms is None:
            counts = self._variant_figures().get(self.id, {})
            arms = [stats.Arm(v, *counts.get(v.id, (0, 0))) for v in self.variant_ids]
        self.write(
            {
                "variant_winner_id": variant.id,
                "variant_decided_at": now or fields.Datetime.now(),
                "variant_decision": f"{reason} {self._variant_summary(arms)}",
            }
        )

    def action_open_step(self):
        """Open this step in its own form (variants, paths), in a dialog."""
        self.ensure_one()
        form = self.env.ref("sms_journey.sms_journey_step_view_form")
        return {
            "name": self.name,
            "type": "ir.actions.act_window",
            "views": [(form.id, "form")],
            "res_model": self._name,
            "res_id": self.id,
            "target": "new",
        }

    # --- the shape of the journey (tools/flow.py) -------------------------

    def _flow_nodes(self):
        """The steps of this step's journey as ``flow.Node``s (read from the cache: the
        step cron asks for every participant)."""
        return [
            flow.Node(s.id, s.sequence, s.parent_id.id or None, s.branch_side or None)
            for s in self.journey_id.step_ids
        ]

    def _next_step(self):
        """The step after this one: the next on its path or, at the end of a branch
        path, the step after its branch step (empty at the end of the journey)."""
        self.ensure_one()
        node = flow.next_node(self._flow_nodes(), self.id)
        return self.browse(node.id if node else [])

    def _branch_step(self, side):
        """Where a participant goes from this branch step on ``side`` ('yes'/'no')."""
        self.ensure_one()
        node = flow.branch_start(self._flow_nodes(), self.id, side)
        return self.browse(node.id if node else [])

    # --- landing pages: {{ landing_url }} in the step's SMS ---------------------------

    @api.depends(
        "landing_type",
        "landing_page_id.url",
        "landing_product_id",
        "landing_program_id.rule_ids.code",
        "landing_survey_id.access_token",
    )
    def _compute_landing_path(self):
        for step in self:
            step.landing_path = step._landing_path()

    def _landing_path(self):
        """The path (without host) of the step's landing page, or False. A promotion
        whose code is each participant's coupon contains ``COUPON_PLACEHOLDER``."""
        self.ensure_one()
        kind = self.landing_type
        if kind == "page" and self.landing_page_id:
            return self.landing_page_id.url
        if kind == "product" and self.landing_product_id:
            return self.landing_product_id.sudo().website_url
        if kind == "survey" and self.landing_survey_id:
            return self.landing_survey_id.sudo().get_start_url()
        if kind == "promotion" and self.landing_program_id:
            program = self.landing_program_id.sudo()
            if program == self.loyalty_program_id:
                code = COUPON_PLACEHOLDER
            else:
                code = next((rule.code for rule in program.rule_ids if rule.code), None)
            return f"/coupon/{code}" if code else "/shop"
        return False

    @api.constrains("landing_type", "landing_survey_id")
    def _check_landing_survey(self):
        for step in self:
            survey = step.landing_survey_id
            if step.landing_type == "survey" and survey.users_login_required:
                raise ValidationError(
                    self.env._(
                        "“%s” asks its participants to sign in: an SMS link cannot open it "
                        "for the contact.",
                        survey.title,
                    )
                )
