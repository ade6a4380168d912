import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.tools import plaintext2html

from ..tools import phone as phone_tools

_logger = logging.getLogger(__name__)


class SmsInteraction(models.Model):
    """One SMS received from a contact (or from an unknown number).

    Created by the inbound webhook, never twice for the same provider message. Consent
    keywords are handled first; then the reply lands on the partner's chatter where
    sales staff read the whole SMS thread, and later features (keyword rules, surveys,
    journeys) build on these records.
    """

    _name = "sms.interaction"
    _description = "SMS Interaction"
    _order = "received_at desc, id desc"
    _rec_name = "number"

    partner_id = fields.Many2one("res.partner", index="btree_not_null")
    number = fields.Char(required=True, index=True, readonly=True)
    recipient = fields.Char("Our number", readonly=True)
    body = fields.Text(readonly=True)
    received_at = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    gateway_id = fields.Many2one("sms.gateway", required=True, index=True, readonly=True)
    company_id = fields.Many2one(related="gateway_id.company_id", store=True)
    provider_message_id = fields.Char("Provider ID", readonly=True)
    outbox_message_id = fields.Many2one(
        "sms.gateway.message",
        "Replying to",
        readonly=True,
        help="The last SMS we sent to this number through this gateway.",
    )
    consent_action = fields.Selection(
        [
            ("opt_out", "Opt-out"),
            ("opt_in", "Opt-in"),
            ("help", "Help"),
            ("confirm", "Opt-in confirmed"),
        ],
        readonly=True,
    )
    state = fields.Selection(
        [("new", "New"), ("handled", "Handled")], default="new", required=True, index=True
    )
    mail_message_id = fields.Many2one("mail.message", "Chatter message", readonly=True)

    _sql_constraints = [
        (
            "provider_message_unique",
            "unique(gateway_id, provider_message_id)",
            "This provider message was already received.",
        ),
    ]

    @api.model
    def _receive(self, gateway, inbound):
        """Record an inbound SMS exactly once and act on it. Returns the interaction."""
        existing = self.search(
            [
                ("gateway_id", "=", gateway.id),
                ("provider_message_id", "=", inbound.provider_message_id),
            ],
            limit=1,
        )
        if existing:
            return existing
        number = phone_tools.try_normalize(inbound.sender) or inbound.sender
        partner = self._match_partner(number)
        outbox = self.env["sms.gateway.message"].search(
            [
                ("gateway_id", "=", gateway.id),
                ("number", "=", number),
                ("state", "in", ("sent", "delivered")),
            ],
            order="sent_at desc, id desc",
            limit=1,
        )
        interaction = self.create(
            {
                "partner_id": partner.id,
                "number": number,
                "recipient": inbound.recipient,
                "body": inbound.body,
                "gateway_id": gateway.id,
                "provider_message_id": inbound.provider_message_id,
                "outbox_message_id": outbox.id,
            }
        )
        interaction._handle_consent_keyword()
        interaction._post_on_chatter()
        interaction.partner_id._sms_touch_interaction(interaction.received_at)
        interaction._after_receive()
        return interaction

    @api.model
    def _match_partner(self, number):
        partners = self.env["res.partner"]._sms_partners_for_number(number)
        # Several contacts can share a number: prefer companies' people with a salesperson,
        # then the most recently updated one.
        return partners.sorted(lambda p: (bool(p.user_id), p.write_date), reverse=True)[:1]

    def _handle_consent_keyword(self):
        family = self.env["sms.consent.keyword"]._classify(self.body or "")
        if not family:
            return
        partner_model = self.env["res.partner"]
        proof = _("SMS from %(number)s: “%(body)s”", number=self.number, body=self.body)
        company = self.gateway_id.company_id
        brand = company.sms_brand_name or company.name
        if family == "opt_out":
            self.consent_action = "opt_out"
            partner_model._sms_consent_opt_out_number(
                self.number, "keyword", proof, self.partner_id, interaction=self
            )
            # Essential: the confirmation goes out although the number is now blacklisted.
            self._reply(
                _(
                    "%(brand)s: you are unsubscribed and will receive no more SMS. "
                    "Reply START to subscribe again.",
                    brand=brand,
                ),
                kind="essential",
            )
        elif family == "opt_in":
            self.consent_action = "opt_in"
            partner_model._sms_consent_opt_in_number(
                self.number, "keyword", proof, self.partner_id, interaction=self
            )
            self._reply(
                _(
                    "%(brand)s: you are subscribed to our SMS again. Reply STOP to opt out.",
                    brand=brand,
                ),
            )
        elif family == "help":
            self.consent_action = "help"
            self._reply(self._help_text(company))
        elif family == "confirm" and self.partner_id.sms_consent_state == "pending":
            self.consent_action = "confirm"
            self.partner_id._sms_consent_set(
                "opted_in", "keyword", proof, self.number, interaction=self
            )
            self._reply(
                _(
                    "%(brand)s: thank you, your SMS subscription is confirmed. "
                    "Reply STOP to opt out.",
                    brand=brand,
                )
            )

    @api.model
    def _help_text(self, company):
        brand = company.sms_brand_name or company.name
        support = company.sms_support_contact or company.email or company.phone or ""
        cap = company.sms_frequency_cap
        frequency = (
            _("Up to %(n)s msg per %(h)s h.", n=cap, h=company.sms_frequency_cap_hours)
            if cap > 0
            else _("Msg frequency varies.")
        )
        return _(
            "%(brand)s: %(frequency)s Msg & data rates may apply. Help: %(support)s. "
            "Reply STOP to opt out.",
            brand=brand,
            frequency=frequency,
            support=support,
        )

    def _reply(self, body, kind="transactional"):
        """Answer on the number the contact wrote from, logged on its chatter."""
        self.ensure_one()
        if self.partner_id:
            # Automatic answers are OdooBot's, not the webhook's public user's.
            self.partner_id.with_context(sms_kind=kind)._message_sms(
                body,
                partner_ids=False,
                sms_numbers=[self.number],
                author_id=self.env.ref("base.partner_root").id,
            )
        else:
            sms = (
                self.env["sms.sms"]
                .sudo()
                .with_context(sms_kind=kind)
                .create({"number": self.number, "body": body})
            )
            sms.send()

    def _post_on_chatter(self):
        """Post the reply on the partner's chatter as written by the partner, and tell
        the salesperson."""
        if not self.partner_id:
            return
        partner = self.partner_id
        notify = partner.user_id.partner_id
        body = Markup('<i class="fa fa-mobile" title="%s"></i> ') % _("SMS") + plaintext2html(
            self.body or ""
        )
        message = (
            partner.with_context(mail_create_nosubscribe=True)
            .sudo()
            .message_post(
                body=body,
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                partner_ids=notify.ids,
            )
        )
        self.mail_message_id = message

    def _after_receive(self):
        """Hook for what reacts to replies (keyword rules, journeys, surveys)."""
        return True

    def action_mark_handled(self):
        self.write({"state": "handled"})

    def action_create_partner(self):
        """Unknown sender: create a contact from the number and attach the reply."""
        self.ensure_one()
        partner = self.env["res.partner"].create({"name": self.number, "mobile": self.number})
        self.link_partner(partner)
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": partner.id,
            "view_mode": "form",
        }

    def write(self, vals):
        # Linking an unknown sender to a contact brings the reply onto its chatter.
        newly_linked = self.filtered(lambda i: not i.partner_id) if vals.get("partner_id") else None
        result = super().write(vals)
        if newly_linked:
            newly_linked._post_on_chatter()
        return result

    def link_partner(self, partner):
        self.filtered(lambda i: not i.partner_id).write({"partner_id": partner.id})
