from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class SmsConversation(models.Model):
    """The conversations inbox: one row per contact (or unknown number) that wrote to a
    company, unread first.

    A SQL view grouping the replies (``sms.interaction``) by company and contact, or by
    number for senders no contact matched. Unread means replies still *new*; "mark as
    done" marks them handled. The contact's salesperson is the conversation's owner
    ("assigned to me"). Unknown numbers can be linked to a contact or become one: their
    replies (and so their past SMS) move to that contact's conversation.
    """

    _name = "sms.conversation"
    _description = "SMS conversation"
    _auto = False
    _order = "has_unread desc, last_received_at desc, id desc"
    _rec_name = "number"
    _depends = {
        "sms.interaction": ["partner_id", "company_id", "number", "received_at", "state"],
        "res.partner": ["user_id"],
    }

    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    number = fields.Char(readonly=True, help="The number of the last reply.")
    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    last_received_at = fields.Datetime("Last reply", readonly=True)
    last_interaction_id = fields.Many2one("sms.interaction", readonly=True)
    last_body = fields.Text("Last message", related="last_interaction_id.body")
    reply_count = fields.Integer("Replies", readonly=True)
    unread_count = fields.Integer("Unread", readonly=True)
    has_unread = fields.Boolean("Has unread replies", readonly=True)

    def init(self):
        # replies are grouped per contact, or per number when unknown
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_interaction_conversation_idx
               ON sms_interaction (company_id, partner_id, number, id)"""
        )
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        self.env.cr.execute(
            SQL(
                """CREATE VIEW %s AS (
                SELECT c.id, c.partner_id, i.number, c.company_id, p.user_id,
                       i.received_at AS last_received_at, c.last_interaction_id,
                       c.reply_count, c.unread_count, c.unread_count > 0 AS has_unread
                  FROM (SELECT MIN(id) AS id, partner_id, company_id,
                               MAX(id) AS last_interaction_id, COUNT(*) AS reply_count,
                               COUNT(*) FILTER (WHERE state = 'new') AS unread_count
                          FROM sms_interaction
                         GROUP BY company_id, partner_id,
                                  CASE WHEN partner_id IS NULL THEN number END) c
                  JOIN sms_interaction i ON i.id = c.last_interaction_id
                  LEFT JOIN res_partner p ON p.id = c.partner_id
                )""",
                SQL.identifier(self._table),
            )
        )

    def _interactions(self, unread=False):
        """The replies of these conversations (a few selected rows: a query each)."""
        interactions = self.env["sms.interaction"]
        for conversation in self:
            interactions |= interactions.search(
                self._interaction_domain(
                    conversation.company_id, conversation.partner_id, conversation.number
                )
                + ([("state", "=", "new")] if unread else [])
            )
        return interactions

    @api.model
    def _interaction_domain(self, company, partner, number):
        domain = [("company_id", "=", company.id)]
        if partner:
            return domain + [("partner_id", "=", partner.id)]
        return domain + [("partner_id", "=", False), ("number", "=", number)]

    def action_mark_done(self):
        """The replies were dealt with: the conversations leave the unread ones."""
        self._interactions(unread=True).action_mark_handled()
        self.env["sms.conversation"]._notify_changed(
            [(c.company_id.id, c.partner_id.id, c.number) for c in self], replies=True
        )
        self.invalidate_model()  # the view's rows changed with the replies

    def action_open(self):
        """The contact's form, where the conversation is; an unknown number's replies."""
        self.ensure_one()
        if self.partner_id:
            return self._partner_form_action(self.partner_id)
        return {
            "type": "ir.actions.act_window",
            "name": self.number,
            "res_model": "sms.interaction",
            "view_mode": "list,form",
            "domain": [("id", "in", self._interactions().ids)],
        }

    @api.model
    def _partner_form_action(self, partner):
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": partner.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_create_partner(self):
        """An unknown number becomes a contact, with its replies."""
        self.ensure_one()
        interactions = self._unknown_interactions()
        action = interactions[:1].action_create_partner()
        interactions.link_partner(self.env["res.partner"].browse(action["res_id"]))
        return action

    def action_link_partner(self):
        """Link an unknown number to an existing contact (wizard)."""
        self.ensure_one()
        self._unknown_interactions()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Link to a contact"),
            "res_model": "sms.conversation.link",
            "view_mode": "form",
            "target": "new",
            "context": {"default_number": self.number, "default_company_id": self.company_id.id},
        }

    def _unknown_interactions(self):
        if self.partner_id:
            raise UserError(
                self.env._("This conversation already belongs to %s.", self.partner_id.name)
            )
        return self._interactions()

    @api.model
    def _link_number(self, number, company, partner):
        """Link the replies of unknown ``number`` to ``partner``."""
        self.env["sms.interaction"].search(
            self._interaction_domain(company, False, number)
        ).link_partner(partner)
