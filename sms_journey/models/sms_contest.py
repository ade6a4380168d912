from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import contest as contest_tools
from .sms_sender import SmsRequest


class SmsContest(models.Model):
    """A contest entered by texting a keyword within a window, one entry per number.

    Opening the contest creates its keyword rule (*Enter the contest* action), so replies
    reach it through the ordinary inbound pipeline. The draw is ``tools.contest.draw``
    on the entered numbers with a seed recorded *before* drawing: anyone can re-run it
    from the seed and the entries list (``action_verify_draw`` does). Winners are told by
    SMS through ``sms.sender``.
    """

    _name = "sms.contest"
    _description = "SMS Contest"
    _inherit = ["mail.thread"]
    _order = "date_start desc, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    keyword = fields.Char(
        required=True, help="The word to reply to enter, e.g. WIN (any case and accents)."
    )
    date_start = fields.Datetime("Entries from", required=True, default=fields.Datetime.now)
    date_end = fields.Datetime("Entries until", required=True)
    winner_count = fields.Integer("Number of winners", default=1, required=True)
    entry_reply = fields.Char(
        "Entry confirmation",
        translate=True,
        help="Sent to each new entry. Empty: no confirmation.",
    )
    winner_message = fields.Char(
        "Winner SMS", required=True, translate=True, default=lambda self: self._default_winner()
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda s: s.env.company)
    state = fields.Selection(
        [("draft", "Draft"), ("open", "Open"), ("drawn", "Drawn")],
        default="draft",
        required=True,
        tracking=True,
    )
    rule_id = fields.Many2one(
        "sms.keyword.rule", "Keyword rule", readonly=True, copy=False, check_company=True
    )
    seed = fields.Char(readonly=True, copy=False, help="The seed the draw was made with.")
    drawn_at = fields.Datetime(readonly=True, copy=False)
    entry_ids = fields.One2many("sms.contest.entry", "contest_id", "Entries")
    entry_count = fields.Integer(compute="_compute_entry_count")
    winner_ids = fields.One2many(
        "sms.contest.entry", "contest_id", "Winners", domain=[("is_winner", "=", True)]
    )

    def _default_winner(self):
        return self.env._("Congratulations! You won our contest. We will contact you shortly.")

    @api.depends("entry_ids")
    def _compute_entry_count(self):
        counts = dict(
            self.env["sms.contest.entry"]._read_group(
                [("contest_id", "in", self.ids)], ["contest_id"], ["__count"]
            )
        )
        for contest in self:
            contest.entry_count = counts.get(contest, 0)

    @api.constrains("date_start", "date_end", "winner_count")
    def _check_window(self):
        for contest in self:
            if contest.date_end <= contest.date_start:
                raise ValidationError(
                    self.env._("Contest “%s” ends before it starts.", contest.name)
                )
            if contest.winner_count < 1:
                raise ValidationError(
                    self.env._("Contest “%s” needs at least one winner.", contest.name)
                )

    def action_open(self):
        """Accept entries: create (or re-activate) the keyword rule of the contest."""
        for contest in self.filtered(lambda c: c.state == "draft"):
            values = {
                "name": self.env._("Contest: %s", contest.name),
                "keywords": contest.keyword,
                "date_start": fields.Date.to_date(contest.date_start),
                "date_end": fields.Date.to_date(contest.date_end),
                "company_id": contest.company_id.id,
                "action_ids": [(0, 0, {"type": "contest_enter", "contest_id": contest.id})],
            }
            if contest.rule_id:
                contest.rule_id.write({"active": True})
            else:
                contest.rule_id = self.env["sms.keyword.rule"].sudo().create(values)
            contest.state = "open"

    @api.model
    def _open_now(self, company):
        """The contests of ``company`` taking entries now (the SMS's keyword and the
        entry page by link both ask)."""
        now = fields.Datetime.now()
        return self.sudo().search(
            [
                ("company_id", "=", company.id),
                ("state", "=", "open"),
                ("date_start", "<=", now),
                ("date_end", ">", now),
            ]
        )

    def _enter(self, interaction, batch):
        """Enter the sender of ``interaction`` if it came within the window and the number
        has not entered yet (the entry reply is an answer of ``batch``). Returns the entry
        (empty when refused)."""
        self.ensure_one()
        Entry = self.env["sms.contest.entry"].sudo()
        within = self.date_start <= interaction.received_at <= self.date_end
        if self.state != "open" or not within:
            return Entry
        if Entry.search_count([("contest_id", "=", self.id), ("number", "=", interaction.number)]):
            return Entry
        entry = Entry.create(
            {
                "contest_id": self.id,
                "number": interaction.number,
                "partner_id": interaction.partner_id.id,
                "interaction_id": interaction.id,
                "entered_at": interaction.received_at,
            }
        )
        if self.entry_reply:
            interaction._reply(batch, self.entry_reply)
        return entry

    def action_draw(self):
        """Record a fresh seed, draw the winners among the entries, tell them by SMS."""
        for contest in self:
            if contest.state == "drawn":
                raise UserError(self.env._("Contest “%s” was already drawn.", contest.name))
            if fields.Datetime.now() < contest.date_end:
                raise UserError(self.env._("Contest “%s” still accepts entries.", contest.name))
            contest.write({"seed": contest_tools.new_seed(), "drawn_at": fields.Datetime.now()})
            winners = contest._draw_entries()
            winners.write({"is_winner": True})
            contest.write({"state": "drawn"})
            contest.rule_id.active = False
            contest._notify_winners(winners)

    def _draw_entries(self):
        """The winning entries of the recorded seed, in the order drawn."""
        self.ensure_one()
        by_number = {entry.number: entry for entry in self.entry_ids}
        numbers = contest_tools.draw(by_number, self.winner_count, self.seed)
        return self.env["sms.contest.entry"].concat(*(by_number[n] for n in numbers))

    def action_verify_draw(self):
        """Re-run the draw from the recorded seed and compare with the winners."""
        self.ensure_one()
        same = set(self._draw_entries().ids) == set(self.winner_ids.ids)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if same else "danger",
                "message": self.env._("The draw re-run from its seed gives the same winners.")
                if same
                else self.env._("The draw re-run from its seed gives other winners!"),
            },
        }

    def _notify_winners(self, winners):
        # in each winner's language (unknown numbers: the company's), one read per language
        langs = winners.partner_id._sms_langs(self.company_id)
        fallback = self.env["res.partner"]._sms_fallback_lang(self.company_id)
        contest_langs = {*langs.values(), fallback}
        messages = {lang: self.with_context(lang=lang).winner_message for lang in contest_langs}
        requests = [
            SmsRequest(
                body=messages[langs.get(entry.partner_id.id, fallback)],
                partner=entry.partner_id,
                number=entry.number,
                # it answers the contact's own entry (they texted the keyword): a
                # transactional notice, which still respects STOP
                kind="transactional",
                thread=self,
            )
            for entry in winners
        ]
        winners.write({"notified": True})
        # the contest's company (its gateway, rules and brand), not the drawing user's
        self.env["sms.sender"]._send(requests, company=self.company_id)
