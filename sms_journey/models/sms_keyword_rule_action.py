import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import plaintext2html

from ..tools import review as review_tools
from ..tools.journey import Candidate

_logger = logging.getLogger(__name__)

# Which field each action type needs, checked by a constraint and shown in the form.
REQUIRED_FIELDS = {
    "reply": "template_id",
    "tag_add": "tag_id",
    "tag_remove": "tag_id",
    "stage": "journey_stage",
    "journey_enrol": "journey_id",
    "survey_answer": "survey_question_id",
    "forward": "email_to",
    "contest_enter": "contest_id",
}
# Actions that act on a contact: skipped for replies from unknown numbers.
PARTNER_ACTIONS = {
    "tag_add",
    "tag_remove",
    "stage",
    "journey_enrol",
    "activity",
    "reply",
    "appointment_confirm",
    "appointment_cancel",
    "appointment_reschedule",
    "review",
}


class SmsKeywordRuleAction(models.Model):
    """One step a keyword rule takes on a reply; a rule's steps run in sequence.

    Each step runs in its own savepoint: a failing step (a deleted template, a wrong
    stage) is logged and skipped, the reply and the other steps are kept, because the
    provider's webhook must not fail on our configuration mistakes.
    """

    _name = "sms.keyword.rule.action"
    _description = "SMS Keyword Rule Action"
    _order = "sequence, id"
    _check_company_auto = True

    rule_id = fields.Many2one(
        "sms.keyword.rule", required=True, ondelete="cascade", index=True, check_company=True
    )
    company_id = fields.Many2one(related="rule_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    type = fields.Selection(
        [
            ("reply", "Reply with an SMS template"),
            ("tag_add", "Add a contact tag"),
            ("tag_remove", "Remove a contact tag"),
            ("stage", "Set the journey stage"),
            ("journey_enrol", "Enrol in a journey"),
            ("appointment_confirm", "Confirm the appointment"),
            ("appointment_cancel", "Cancel the appointment"),
            ("appointment_reschedule", "Ask to reschedule the appointment"),
            ("survey_answer", "Record a survey answer"),
            ("opt_in", "Opt in"),
            ("opt_out", "Opt out"),
            ("activity", "Schedule an activity"),
            ("lead", "Create a lead"),
            ("forward", "Forward by email"),
            ("mark_handled", "Mark the reply handled"),
            ("contest_enter", "Enter the contest"),
            ("review", "Route to a review or the salesperson"),
        ],
        required=True,
        default="reply",
    )
    template_id = fields.Many2one(
        "sms.template", "SMS template", domain="[('model', '=', 'res.partner')]"
    )
    sms_kind = fields.Selection(
        [("transactional", "Transactional"), ("marketing", "Marketing")],
        string="Message type",
        default="transactional",
        required=True,
        help="An answer to what the contact asked is transactional; an offer sent in "
        "reply to a keyword is marketing and needs the contact's consent.",
    )
    tag_id = fields.Many2one("res.partner.category")
    journey_stage = fields.Selection(selection="_selection_journey_stage", string="Stage")
    journey_id = fields.Many2one("sms.journey", ondelete="cascade", check_company=True)
    survey_question_id = fields.Many2one(
        "sms.survey.question", "Survey question", ondelete="cascade", check_company=True
    )
    activity_type_id = fields.Many2one("mail.activity.type", "Activity type")
    # translatable: a salesperson reads the activity in their own language (_run_activity)
    activity_summary = fields.Char("Summary", translate=True)
    email_to = fields.Char("Forward to", help="Email addresses, separated by commas.")
    contest_id = fields.Many2one("sms.contest", ondelete="cascade", check_company=True)
    review_threshold = fields.Float(
        "Satisfied from",
        default=4,
        help="The grade in the reply (1 to 5) at least this: the review request SMS with "
        "the review link; lower: a call for the contact's salesperson.",
    )
    review_url = fields.Char("Review link", help="Empty: the company's review link.")

    @api.model
    def _selection_journey_stage(self):
        # The stages of res.partner's journey_stage (see res_partner.JOURNEY_STAGES).
        return self.env["res.partner"]._fields["journey_stage"]._description_selection(self.env)

    @api.constrains("type", "template_id", "tag_id", "journey_stage", "email_to")
    def _check_required_field(self):
        for action in self:
            fname = REQUIRED_FIELDS.get(action.type)
            if fname and not action[fname]:
                raise ValidationError(
                    self.env._(
                        "The action “%(action)s” needs a %(field)s.",
                        action=action._fields["type"].convert_to_export(action.type, action),
                        field=action._fields[fname].string,
                    )
                )
            if action.type == "reply" and action.template_id.model != "res.partner":
                raise ValidationError(self.env._("Reply templates must be written for contacts."))

    def _run(self, interaction, batch):
        """Apply this step to ``interaction``; errors are logged, not raised."""
        self.ensure_one()
        if self.type in PARTNER_ACTIONS and not interaction.partner_id:
            return
        try:
            with self.env.cr.savepoint():
                self._runners()[self.type](interaction, batch)
        except Exception:
            _logger.exception(
                "Keyword rule %s: action %s failed on SMS %s",
                self.rule_id.id,
                self.type,
                interaction.id,
            )

    def _runners(self):
        """{action type: the method that runs it on (interaction, batch)}."""
        return {
            "reply": self._run_reply,
            "tag_add": self._run_tag_add,
            "tag_remove": self._run_tag_remove,
            "stage": self._run_stage,
            "journey_enrol": self._run_journey_enrol,
            "appointment_confirm": self._run_appointment_confirm,
            "appointment_cancel": self._run_appointment_cancel,
            "appointment_reschedule": self._run_appointment_reschedule,
            "survey_answer": self._run_survey_answer,
            "opt_in": self._run_opt_in,
            "opt_out": self._run_opt_out,
            "activity": self._run_activity,
            "lead": self._run_lead,
            "forward": self._run_forward,
            "mark_handled": self._run_mark_handled,
            "contest_enter": self._run_contest_enter,
            "review": self._run_review,
        }

    def _run_reply(self, interaction, batch):
        partner = interaction.partner_id
        body = self.template_id._render_field("body", partner.ids, compute_lang=True)[partner.id]
        interaction._reply(batch, body, kind=self.sms_kind, template=self.template_id)

    def _run_tag_add(self, interaction, batch):
        interaction.partner_id.category_id = [fields.Command.link(self.tag_id.id)]

    def _run_tag_remove(self, interaction, batch):
        interaction.partner_id.category_id = [fields.Command.unlink(self.tag_id.id)]

    def _run_stage(self, interaction, batch):
        interaction.partner_id.journey_stage = self.journey_stage

    def _run_journey_enrol(self, interaction, batch):
        """Enter the contact in a running journey, once per reply (the participant key)."""
        journey = self.journey_id.sudo()
        if journey.state != "running":
            return
        key = f"sms-reply-{interaction.id}"
        journey._create_participants(
            [Candidate(interaction.partner_id.id, key, interaction.received_at)]
        )

    def _run_appointment(self, interaction, batch, answer):
        event = self.env["calendar.event"]._sms_find_appointment(interaction)
        if event:
            event._sms_answer(interaction, batch, answer)
        else:
            _logger.info("SMS %s: no upcoming appointment to %s", interaction.id, answer)

    def _run_appointment_confirm(self, interaction, batch):
        self._run_appointment(interaction, batch, "confirm")

    def _run_appointment_cancel(self, interaction, batch):
        self._run_appointment(interaction, batch, "cancel")

    def _run_appointment_reschedule(self, interaction, batch):
        self._run_appointment(interaction, batch, "reschedule")

    def _run_survey_answer(self, interaction, batch):
        question = self.survey_question_id
        request = self.env["sms.survey.request"].sudo()._open_for(interaction)
        if request.question_id != question:
            request = None
        if not interaction._record_survey_answer(batch, question, request):
            interaction._reply(batch, question._clarification_text())

    def _consent_proof(self, interaction):
        return self.env._(
            "SMS from %(number)s: “%(body)s” (rule %(rule)s)",
            number=interaction.number,
            body=interaction.body,
            rule=self.rule_id.name,
        )

    def _record_consent(self, interaction, record_for_number):
        """Record the sender's opt-in or opt-out (``record_for_number``, one of
        ``res.partner``'s ``_sms_consent_opt_*_number``) with this rule as the proof."""
        record_for_number(
            interaction.number,
            "keyword",
            self._consent_proof(interaction),
            interaction.partner_id,
            interaction=interaction,
            company=interaction.gateway_id.company_id,
        )

    def _run_opt_in(self, interaction, batch):
        self._record_consent(interaction, self.env["res.partner"]._sms_consent_opt_in_number)

    def _run_opt_out(self, interaction, batch):
        self._record_consent(interaction, self.env["res.partner"]._sms_consent_opt_out_number)

    def _responsible(self, interaction):
        return interaction.partner_id.user_id or self.rule_id.user_id or self.env.user

    def _run_activity(self, interaction, batch):
        partner = interaction.partner_id
        activity_type = self.activity_type_id or self.env.ref("mail.mail_activity_data_todo")
        user = self._responsible(interaction)
        # the summary in the language of the person who will do the activity
        action = self.with_context(lang=user.lang or self.env.lang)
        partner.activity_schedule(
            activity_type_id=activity_type.id,
            summary=action.activity_summary or action.env._("SMS reply: %s", action.rule_id.name),
            note=plaintext2html(interaction.body or ""),
            user_id=user.id,
        )

    def _run_lead(self, interaction, batch):
        # crm is not a dependency: the action does nothing where it is not installed.
        if "crm.lead" not in self.env:
            return
        partner = interaction.partner_id
        self.env["crm.lead"].create(
            {
                "name": self.env._(
                    "SMS “%(keyword)s” from %(who)s",
                    keyword=interaction.matched_keyword or self.rule_id.name,
                    who=partner.name or interaction.number,
                ),
                "partner_id": partner.id,
                "phone": interaction.number,
                "description": plaintext2html(interaction.body or ""),
                "user_id": self._responsible(interaction).id,
            }
        )

    def _run_forward(self, interaction, batch):
        company = interaction.company_id or self.env.company
        who = interaction.partner_id.name or interaction.number
        body = Markup("<p>%s</p><blockquote>%s</blockquote>") % (
            self.env._(
                "SMS from %(who)s (%(number)s), keyword rule “%(rule)s”:",
                who=who,
                number=interaction.number,
                rule=self.rule_id.name,
            ),
            plaintext2html(interaction.body or ""),
        )
        self.env["mail.mail"].sudo().create(
            {
                "subject": self.env._("SMS reply from %s", who),
                "body_html": body,
                "email_to": self.email_to,
                "email_from": company.email_formatted or self.env.user.email_formatted,
                "auto_delete": True,
            }
        )

    def _run_mark_handled(self, interaction, batch):
        interaction.action_mark_handled()

    def _run_contest_enter(self, interaction, batch):
        self.contest_id._enter(interaction, batch)

    def _run_review(self, interaction, batch):
        """Route the grade of the reply (kept apart from the inbound pipeline: this
        action only reads the reply it is given)."""
        grade = review_tools.grade_of(interaction.body)
        self.env["sms.review"]._route(
            interaction.partner_id,
            grade,
            self.review_threshold,
            link=self.review_url,
            origin=self.rule_id.name,
            interaction=interaction,
            batch=batch,
        )
