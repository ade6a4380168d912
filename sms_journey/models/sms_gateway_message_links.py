"""sms.gateway.message: the reply links of an SMS from a one-way sender.

Where the outbox picks the sender of an SMS (``_enqueue_sms``, ``_enqueue_logged``) it
also knows whether the customer can answer it. When the sender cannot receive replies
(an alphanumeric ID), every feature that asks for a reply gets a short signed link in
the text instead (``tools/reply_links.py``): a marketing SMS always the opt-out page, an
appointment reminder (an SMS posted on a ``calendar.event``) the confirm / cancel /
reschedule page, a survey question and a double opt-in question (``SmsRequest.reply_link``)
their page. The links name the outbox row, so their ids are reserved before the INSERT.
The page is ``controllers/reply_links.py``; what it does, ``sms.interaction._answer_by_link``.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import reply_links
from ..tools.encoding import analyze
from .sms_gateway_sender import ALPHANUMERIC


class SmsGatewayMessage(models.Model):
    _inherit = "sms.gateway.message"

    @api.model
    def _add_reply_links(self, gateway, rows, hints=None, ids=None):
        """Give the queued ``rows`` (outbox column dicts, verdict included) that leave
        from a one-way sender of ``gateway`` the links of the replies they ask for, in
        place: body, encoding, segments and cost. ``hints`` are the rows' own
        ``reply_link`` (or None); ``ids`` their ids when they exist already, else ids are
        reserved for every row (an INSERT takes the same columns in every row)."""
        hints = hints or [None] * len(rows)
        one_way = self._one_way_sender_ids(gateway, rows)
        todo = [
            index
            for index, row in enumerate(rows)
            if row["state"] == "queued" and row["sender_id"] in one_way
        ]
        if not todo:
            return
        if ids is None:
            ids = self._reserve_ids(len(rows))
            for row, row_id in zip(rows, ids, strict=True):
                row["id"] = row_id
        appointments = self._appointment_message_ids([rows[index] for index in todo])
        contest_keywords = self._open_contest_keywords(gateway.company_id)
        key = self._reply_key()
        expires = reply_links.expiry_of(fields.Date.today())
        base_url = self.get_base_url()
        for index in todo:
            row = rows[index]
            keyword = reply_links.named_keyword(row["body"], contest_keywords)
            actions = self._reply_actions(row, hints[index], appointments, keyword)
            if not actions:
                continue
            labels = self._reply_labels(row["partner_id"], gateway, keyword)
            lines = [
                (
                    labels[action],
                    "{}/o/{}".format(
                        base_url,
                        reply_links.make_token(key, action, ids[index], expires, row["number"]),
                    ),
                )
                for action in actions
            ]
            # the links stand for the reply the text asked for ("Reply C to confirm")
            body = reply_links.drop_reply_instructions(row["body"])
            row["body"] = reply_links.with_links(body, lines)
            info = analyze(row["body"])
            row.update(
                encoding=info.encoding,
                segments=info.segments,
                cost=info.segments * gateway._segment_price(row["number"]),
            )

    @api.model
    def _one_way_sender_ids(self, gateway, rows):
        """The ``sender_id`` values of ``rows`` that cannot receive replies (None: the
        gateway's default sender, one-way when it is an alphanumeric ID)."""
        sender_ids = {row["sender_id"] for row in rows if row["sender_id"]}
        senders = self.env["sms.gateway.sender"].sudo().browse(sender_ids)
        one_way = set(senders.filtered(lambda s: not s.can_receive_replies).ids)
        default = (gateway.sender or "").strip()
        if default and ALPHANUMERIC.match(default) and not default.lstrip("+").isdigit():
            one_way.add(None)
        return one_way

    @api.model
    def _reserve_ids(self, count):
        return [
            row[0]
            for row in self.env.execute_query(
                SQL(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    self._table,
                    count,
                )
            )
        ]

    @api.model
    def _appointment_message_ids(self, rows):
        """The chatter messages among ``rows``' that are posted on an appointment."""
        message_ids = {row["mail_message_id"] for row in rows if row["mail_message_id"]}
        if not message_ids:
            return set()
        messages = self.env["mail.message"].sudo().browse(message_ids)
        return set(messages.filtered(lambda m: m.model == "calendar.event").ids)

    @api.model
    def _reply_actions(self, row, hint, appointments, contest_keyword=None):
        """The replies an SMS asks for, in the order of its links: its feature's (an
        appointment, its hint, the open contest whose keyword it names), then the
        opt-out of a marketing SMS (required in every one from a one-way sender)."""
        actions = []
        if row["mail_message_id"] in appointments:
            actions.append("appointment")
        if contest_keyword:
            actions.append("contest")
        if hint in reply_links.ACTIONS and hint not in actions:
            actions.append(hint)
        if row["sms_kind"] == "marketing":
            actions.append("stop")
        return actions

    @api.model
    @api.model
    def _open_contest_keywords(self, company):
        """The keywords of the contests of ``company`` open for entries now."""
        return self.env["sms.contest"]._open_now(company).mapped("keyword")

    @api.model
    def _reply_labels(self, partner_id, gateway, contest_keyword=None):
        """The words before each link, in the contact's language (the contest's label
        keeps its keyword: the page finds the contest by it)."""
        partner = self.env["res.partner"].sudo().browse(partner_id or ())
        lang = partner.lang or gateway.company_id.partner_id.lang or "en_US"
        env = self.with_context(lang=lang).env
        return {
            "stop": env._("Opt out:"),
            "appointment": env._("Confirm or cancel:"),
            "survey": env._("Answer:"),
            "confirm": env._("Confirm:"),
            "contest": env._("Enter (%s):", contest_keyword or ""),
        }

    @api.model
    def _reply_key(self):
        """The key signing reply links, derived from the database secret."""
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        return reply_links.reply_key(secret)
