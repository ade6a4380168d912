from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools import keyword_rules


class SmsKeywordRule(models.Model):
    """What to do when a contact answers with a keyword ("YES", "PRICE", "C").

    A rule lists keywords and synonyms, how they must appear in the reply (first word,
    whole message, anywhere), where it applies (any reply, or only replies to our SMS or
    to one template within N days), when (active dates) and for which company; its
    actions run in order. Consent keywords (STOP, START, HELP...) are handled before any
    rule. When several rules match, :mod:`..tools.keyword_rules` picks the winner:
    sequence, then the most specific match.
    """

    _name = "sms.keyword.rule"
    _description = "SMS Keyword Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10, help="Lower first when several rules match.")
    keywords = fields.Char(
        required=True,
        help="Keywords and synonyms, separated by commas (e.g. “YES, SI, OK”). Case and "
        "accents are ignored.",
    )
    match_mode = fields.Selection(
        [
            ("first_word", "Reply starts with the keyword"),
            ("exact", "Reply is the keyword"),
            ("contains", "Reply contains the keyword"),
        ],
        default="first_word",
        required=True,
    )
    scope = fields.Selection(
        [
            ("global", "Any reply"),
            ("recent", "Replies to any SMS we sent"),
            ("template", "Replies to an SMS template"),
            ("journey", "Replies to a journey"),
        ],
        default="global",
        required=True,
    )
    template_id = fields.Many2one("sms.template", "SMS template", ondelete="cascade")
    journey_id = fields.Many2one("sms.journey", ondelete="cascade", check_company=True)
    scope_days = fields.Integer(
        "Within (days)", default=7, help="How long after our SMS a reply still counts."
    )
    date_start = fields.Date("From")
    date_end = fields.Date("Until")
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, help="Empty: every company."
    )
    last_error = fields.Text(
        readonly=True, copy=False, help="Why the actions failed the last time they ran."
    )
    user_id = fields.Many2one(
        "res.users",
        "Responsible",
        default=lambda self: self.env.user,
        help="Gets the activities of this rule when the contact has no salesperson.",
    )
    action_ids = fields.One2many("sms.keyword.rule.action", "rule_id", "Actions", copy=True)
    interaction_ids = fields.One2many("sms.interaction", "matched_rule_id", "Replies")
    interaction_count = fields.Integer("Replies matched", compute="_compute_interaction_count")

    @api.depends("interaction_ids")
    def _compute_interaction_count(self):
        counts = dict(
            self.env["sms.interaction"]._read_group(
                [("matched_rule_id", "in", self.ids)], ["matched_rule_id"], ["__count"]
            )
        )
        for rule in self:
            rule.interaction_count = counts.get(rule, 0)

    @api.constrains("keywords")
    def _check_keywords(self):
        for rule in self:
            if not keyword_rules.parse_keywords(rule.keywords):
                raise ValidationError(
                    self.env._("Rule “%s” needs at least one keyword.", rule.name)
                )

    @api.constrains("scope", "template_id", "journey_id", "scope_days")
    def _check_scope(self):
        for rule in self:
            if rule.scope == "template" and not rule.template_id:
                raise ValidationError(self.env._("Rule “%s”: choose the SMS template.", rule.name))
            if rule.scope == "journey" and not rule.journey_id:
                raise ValidationError(self.env._("Rule “%s”: choose the journey.", rule.name))
            if rule.scope != "global" and rule.scope_days <= 0:
                raise ValidationError(
                    self.env._("Rule “%s”: the number of days must be positive.", rule.name)
                )

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for rule in self:
            if rule.date_start and rule.date_end and rule.date_end < rule.date_start:
                raise ValidationError(self.env._("Rule “%s” ends before it starts.", rule.name))

    @api.onchange("scope")
    def _onchange_scope(self):
        if self.scope != "template":
            self.template_id = False
        if self.scope != "journey":
            self.journey_id = False

    # matching -------------------------------------------------------------

    @api.model
    def _find_for_interaction(self, interaction, batch):
        """The rule answering ``interaction`` and the keyword it matched, or (rule, None)
        with an empty rule."""
        rules = self._candidates_for(interaction, batch)
        specs = [
            keyword_rules.KeywordRule(
                rule.id,
                keyword_rules.parse_keywords(rule.keywords),
                rule.match_mode,
                rule.sequence,
            )
            for rule in rules
        ]
        winner = keyword_rules.pick(interaction.body or "", specs)
        if not winner:
            return self.browse(), None
        return self.browse(winner.rule.id), winner.keyword

    @api.model
    def _candidates_for(self, interaction, batch):
        """Active rules of the interaction's company valid on its day and in scope. The
        search is made once per company and day for the replies of ``batch``."""
        day = fields.Date.context_today(self, interaction.received_at)
        company_id = interaction.company_id.id
        rule_ids = batch.lookup(
            ("sms.keyword.rule", company_id, day),
            lambda: self.search(
                [
                    ("company_id", "in", [False, company_id]),
                    "|",
                    ("date_start", "=", False),
                    ("date_start", "<=", day),
                    "|",
                    ("date_end", "=", False),
                    ("date_end", ">=", day),
                ]
            ).ids,
        )
        rules = self.browse(rule_ids)  # in this reply's language
        return rules.filtered(lambda rule: rule._in_scope(interaction))

    def _in_scope(self, interaction):
        self.ensure_one()
        if self.scope == "global":
            return True
        if self.scope == "journey":
            # The journeys feature links a reply to the journey SMS it answers.
            return interaction.sms_journey_id == self.journey_id and self._within_days(interaction)
        return self._within_days(interaction) and (
            self.scope != "template"
            or interaction.outbox_message_id.template_id == self.template_id
        )

    def _within_days(self, interaction):
        outbox = interaction.outbox_message_id
        if not outbox.sent_at:
            return False
        return interaction.received_at - outbox.sent_at <= timedelta(days=self.scope_days)

    # actions --------------------------------------------------------------

    def _run_actions(self, interaction, batch):
        """Run the rule's actions on ``interaction`` in sequence; their answers are
        queued on ``batch``."""
        self.ensure_one()
        for action in self.action_ids.sorted(lambda a: (a.sequence, a.id)):
            action._run(interaction, batch)

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_journey.sms_interaction_action")
        action["domain"] = [("matched_rule_id", "=", self.id)]
        action["context"] = {}
        return action
