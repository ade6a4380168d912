from odoo import api, fields, models
from odoo.tools import SQL, html2plaintext

from ..tools import conversation


class SmsConversationMessage(models.Model):
    """Every SMS sent to or received from a number, as one read-only timeline.

    A SQL view over the three places an SMS leaves a trace, keyed by the E.164 number:

    - ``sms_gateway_message``: what went through one of our gateways (the outbox row
      stays after sending, with its state, reason and chatter message);
    - ``mail_notification`` of type ``sms`` without an outbox row: what went through
      Odoo's IAP service (its ``sms.sms`` is deleted once sent, the notification stays
      with the number, the state and the failure);
    - ``sms_interaction``: the replies.

    A contact's conversation is this model searched on the contact's numbers (and on the
    contact, for SMS whose number changed since); the company rule applies as on the
    tables it reads. Ids are the source ids spread over three residues (``id * 3 +
    0/1/2``), so they stay stable and distinct. :meth:`_conversation_rows` turns a page
    into what the contact form's widget shows (source record, journey, mailing).
    """

    _name = "sms.conversation.message"
    _description = "SMS conversation message"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "number"
    # what the view reads, flushed before each search
    _depends = {
        "sms.gateway.message": [
            "number", "partner_id", "company_id", "sent_at", "due_at", "body", "state",
            "failure_reason", "deferred_reason", "mail_message_id",
        ],
        "mail.notification": [
            "sms_number", "res_partner_id", "notification_type", "notification_status",
            "failure_reason", "mail_message_id",
        ],
        "mail.message": ["record_company_id", "date", "body"],
        "sms.interaction": [
            "number", "partner_id", "company_id", "received_at", "body", "mail_message_id",
        ],
    }  # fmt: skip

    direction = fields.Selection([("out", "Sent"), ("in", "Received")], readonly=True)
    number = fields.Char(readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Datetime(readonly=True)
    body = fields.Text(readonly=True)
    state = fields.Selection(
        [
            (conversation.RECEIVED, "Received"),
            (conversation.QUEUED, "Queued"),
            (conversation.SENT, "Sent"),
            (conversation.DELIVERED, "Delivered"),
            (conversation.FAILED, "Failed"),
            (conversation.CANCELED, "Canceled"),
        ],
        readonly=True,
    )
    failure_reason = fields.Text(readonly=True)
    mail_message_id = fields.Many2one("mail.message", "Chatter message", readonly=True)
    outbox_message_id = fields.Many2one("sms.gateway.message", "Outbox message", readonly=True)
    notification_id = fields.Many2one("mail.notification", readonly=True)
    interaction_id = fields.Many2one("sms.interaction", "Reply", readonly=True)

    def init(self):
        cr = self.env.cr
        # The branches of the view are searched by number and by contact: index what
        # Odoo leaves unindexed (mail_notification.sms_number) and the outbox column the
        # IAP branch uses to leave out SMS the outbox already shows.
        cr.execute(
            """CREATE INDEX IF NOT EXISTS mail_notification_sms_number_idx
               ON mail_notification (sms_number) WHERE notification_type = 'sms'"""
        )
        cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_gateway_message_number_idx
               ON sms_gateway_message (number)"""
        )
        cr.execute(
            """CREATE INDEX IF NOT EXISTS sms_gateway_message_mail_message_idx
               ON sms_gateway_message (mail_message_id) WHERE mail_message_id IS NOT NULL"""
        )
        cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        cr.execute(
            SQL(
                """CREATE VIEW %(view)s AS (
                SELECT gm.id * 3 AS id, 'out' AS direction, gm.number, gm.partner_id,
                       gm.company_id, COALESCE(gm.sent_at, gm.due_at) AS date, gm.body,
                       %(outbox_state)s AS state,
                       COALESCE(gm.failure_reason, gm.deferred_reason) AS failure_reason,
                       gm.mail_message_id, gm.id AS outbox_message_id,
                       NULL::integer AS notification_id, NULL::integer AS interaction_id
                  FROM sms_gateway_message gm
                UNION ALL
                SELECT n.id * 3 + 1, 'out', n.sms_number, n.res_partner_id,
                       m.record_company_id, m.date, m.body,
                       %(notification_state)s,
                       n.failure_reason, n.mail_message_id, NULL, n.id, NULL
                  FROM mail_notification n
                  JOIN mail_message m ON m.id = n.mail_message_id
                 WHERE n.notification_type = 'sms'
                   AND NOT EXISTS (SELECT 1 FROM sms_gateway_message o
                                    WHERE o.mail_message_id = n.mail_message_id)
                UNION ALL
                SELECT i.id * 3 + 2, 'in', i.number, i.partner_id, i.company_id,
                       i.received_at, i.body, %(received)s, NULL, i.mail_message_id,
                       NULL, NULL, i.id
                  FROM sms_interaction i
                )""",
                view=SQL.identifier(self._table),
                outbox_state=self._case_sql(SQL("gm.state"), conversation.OUTBOX_STATES),
                notification_state=self._case_sql(
                    SQL("n.notification_status"), conversation.NOTIFICATION_STATES
                ),
                received=conversation.RECEIVED,
            )
        )

    @api.model
    def _case_sql(self, column, mapping):
        return SQL(
            "CASE %s ELSE NULL END",
            SQL(" ").join(SQL("WHEN %s = %s THEN %s", column, key, value)
                          for key, value in mapping.items()),
        )  # fmt: skip

    # ------------------------------------------------------------------
    # A contact's conversation
    # ------------------------------------------------------------------

    @api.model
    def _conversation_numbers(self, partners):
        """The E.164 numbers of ``partners``' conversation: their own numbers, and those
        their linked replies came from (an unknown number linked to a contact later: its
        past SMS belong to it too). Sorted."""
        numbers = set()
        for partner in partners:
            numbers.update(
                conversation.contact_numbers(
                    partner.phone_sanitized,
                    [partner.phone, partner.mobile],
                    (partner.country_id or self.env.company.country_id).code or None,
                )
            )
        linked = (
            self.env["sms.interaction"]
            .sudo()
            ._read_group([("partner_id", "in", partners.ids)], ["number"])
        )
        numbers.update(number for (number,) in linked if number)
        return sorted(numbers)

    @api.model
    def _conversation_scope(self, partners):
        """The contacts and numbers of ``partners``' conversation: a company's holds its
        people's too (a person's holds only theirs)."""
        partners = partners | partners.filtered("is_company").child_ids
        return partners, self._conversation_numbers(partners)

    @api.model
    def _conversation_domain(self, partners, scope=None):
        """The domain of ``partners``' conversation: their numbers, the numbers their
        linked replies came from, and what was sent to or received from them
        (``scope``: their :meth:`_conversation_scope`, if the caller has it)."""
        partners, numbers = scope or self._conversation_scope(partners)
        if not numbers:
            return [("partner_id", "in", partners.ids)]
        return ["|", ("number", "in", numbers), ("partner_id", "in", partners.ids)]

    def _conversation_rows(self):
        """What the conversation widget shows of these messages, oldest first: one dict
        each with the text, state, reason, the journey or mailing it belongs to and
        the record it was logged on (name, model, id) when the user can read it."""
        messages = self.sorted(lambda m: (m.date, m.id))
        sources = self._source_names(messages.mail_message_id.sudo())
        journeys = self._journeys(messages)
        mailings = self._mailings(messages)
        # in the reader's language (the widget shows it next to the delivery ticks)
        state_labels = dict(self._fields["state"]._description_selection(self.env))
        rows = []
        for message in messages:
            body = message.body or ""
            if message.notification_id:  # Odoo's IAP path: the chatter's HTML body
                body = html2plaintext(body)
            chatter = message.mail_message_id.sudo()
            source = sources.get((chatter.model, chatter.res_id))
            journey = journeys.get(message.id)
            mailing = mailings.get(message.id)
            rows.append(
                {
                    "id": message.id,
                    "direction": message.direction,
                    "number": message.number,
                    "body": body,
                    "date": fields.Datetime.to_string(message.date),
                    "state": message.state,
                    "state_label": state_labels.get(message.state, ""),
                    "failure_reason": message.failure_reason or "",
                    "source": source,
                    "journey": journey and {"id": journey.id, "name": journey.name},
                    "mailing": mailing and {"id": mailing.id, "name": mailing.subject},
                }
            )
        return rows

    @api.model
    def _source_names(self, chatter_messages):
        """{(model, id): {model, id, name}} of the records these chatter messages are
        on, for those the user may read."""
        by_model = {}
        for message in chatter_messages:
            if message.model and message.res_id:
                by_model.setdefault(message.model, set()).add(message.res_id)
        names = {}
        for model, ids in by_model.items():
            if model not in self.env:
                continue
            records = self.env[model].browse(ids).exists()._filtered_access("read")
            for record in records:
                names[(model, record.id)] = {
                    "model": model,
                    "id": record.id,
                    "name": record.display_name,
                }
        return names

    def _journeys(self, messages):
        """{conversation message id: sms.journey} for journey SMS and replies."""
        by_outbox = {m.outbox_message_id.id: m.id for m in messages if m.outbox_message_id}
        journeys = {}
        if by_outbox:
            traces = (
                self.env["sms.journey.trace"]
                .sudo()
                .search([("outbox_message_id", "in", list(by_outbox))])
            )
            for trace in traces:
                journeys[by_outbox[trace.outbox_message_id.id]] = trace.journey_id
        for message in messages.filtered("interaction_id"):
            if message.interaction_id.sms_journey_id:
                journeys[message.id] = message.interaction_id.sms_journey_id
        return {key: journey.sudo() for key, journey in journeys.items()}

    def _mailings(self, messages):
        """{conversation message id: mailing.mailing} for SMS of a mass mailing."""
        by_uuid = {m.outbox_message_id.sms_uuid: m.id for m in messages if m.outbox_message_id}
        if not by_uuid:
            return {}
        trackers = (
            self.env["sms.tracker"]
            .sudo()
            .search([("sms_uuid", "in", list(by_uuid)), ("mailing_trace_id", "!=", False)])
        )
        return {
            by_uuid[tracker.sms_uuid]: tracker.mailing_trace_id.mass_mailing_id
            for tracker in trackers
            if tracker.mailing_trace_id.mass_mailing_id
        }
