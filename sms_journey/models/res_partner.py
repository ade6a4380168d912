from odoo import _, api, fields, models

from ..tools import phone as phone_tools

CONSENT_STATES = [
    ("unknown", "Unknown"),
    ("pending", "Pending confirmation"),
    ("opted_in", "Opted in"),
    ("opted_out", "Opted out"),
]
CONSENT_SOURCES = [
    ("web_form", "Web form"),
    ("checkout", "Checkout"),
    ("keyword", "SMS keyword"),
    ("import", "Import"),
    ("staff", "Staff"),
    ("api", "API"),
    ("provider", "SMS provider"),
    ("blacklist", "Phone blacklist"),
]


class ResPartner(models.Model):
    """SMS consent of a contact.

    The consent state says whether marketing SMS may be sent. Opt-outs are kept in
    Odoo's ``phone.blacklist`` (through its ``_add``/``_remove`` API), so every Odoo
    feature respects them; ``sms.consent.log`` keeps every change with its proof.

    Main methods: ``_sms_consent_set`` (one partner), ``_sms_consent_opt_out_number`` /
    ``_sms_consent_opt_in_number`` (everything behind a number), and
    ``action_sms_request_consent`` (double opt-in).
    """

    _inherit = "res.partner"

    # Inbound SMS are matched to partners on this column.
    phone_sanitized = fields.Char(index="btree_not_null")
    sms_consent_state = fields.Selection(
        CONSENT_STATES,
        string="SMS consent",
        default="unknown",
        index=True,
        copy=False,
        tracking=True,
    )
    sms_consent_date = fields.Datetime("SMS consent date", copy=False, readonly=True)
    sms_consent_source = fields.Selection(
        CONSENT_SOURCES, "SMS consent source", copy=False, readonly=True
    )
    sms_consent_proof = fields.Text(
        "SMS consent proof",
        copy=False,
        readonly=True,
        help="The consent text shown, the keyword message or the IP address, "
        "and who recorded it.",
    )
    sms_consent_log_ids = fields.One2many(
        "sms.consent.log", "partner_id", "SMS consent history", readonly=True
    )

    def _sms_consent_set(self, state, source, proof=False, number=False, interaction=False):
        """Record a consent change with its proof on each partner of ``self``.

        Opt-out blacklists the number and opt-in removes it from the blacklist, so Odoo's
        own mailings agree with us.
        """
        now = fields.Datetime.now()
        logs = []
        blacklist = self.env["phone.blacklist"].sudo().with_context(sms_journey_consent_sync=True)
        for partner in self:
            partner_number = number or partner.phone_sanitized
            partner.sudo().write(
                {
                    "sms_consent_state": state,
                    "sms_consent_date": now,
                    "sms_consent_source": source,
                    "sms_consent_proof": proof or False,
                }
            )
            logs.append(
                {
                    "partner_id": partner.id,
                    "number": partner_number or False,
                    "action": state,
                    "source": source,
                    "proof": proof or False,
                    "interaction_id": interaction.id if interaction else False,
                }
            )
            if partner_number and state == "opted_out":
                blacklist._add([partner_number], message=_("SMS opt-out (%s)", source))
            elif partner_number and state == "opted_in":
                blacklist._remove([partner_number], message=_("SMS opt-in (%s)", source))
        self.env["sms.consent.log"].sudo().create(logs)
        # The blacklist flags are computed from phone.blacklist without a dependency.
        self.invalidate_recordset(
            ["phone_sanitized_blacklisted", "phone_blacklisted", "mobile_blacklisted"]
        )
        return True

    @api.model
    def _sms_partners_for_number(self, number):
        e164 = phone_tools.try_normalize(number)
        if not e164:
            return self.browse()
        return self.sudo().search([("phone_sanitized", "=", e164)])

    @api.model
    def _sms_consent_opt_out_number(
        self, number, source, proof=False, partner=None, interaction=False
    ):
        """Opt out everything behind ``number``: its partners and the number itself."""
        e164 = phone_tools.try_normalize(number) or number
        partners = self._sms_partners_for_number(e164) | (partner or self.browse())
        if partners:
            partners._sms_consent_set("opted_out", source, proof, e164, interaction)
        else:
            self.env["phone.blacklist"].sudo().with_context(sms_journey_consent_sync=True)._add(
                [e164], message=_("SMS opt-out (%s)", source)
            )
            self.env["sms.consent.log"].sudo().create(
                {
                    "number": e164,
                    "action": "opted_out",
                    "source": source,
                    "proof": proof or False,
                    "interaction_id": interaction.id if interaction else False,
                }
            )
        return partners

    @api.model
    def _sms_consent_opt_in_number(
        self, number, source, proof=False, partner=None, interaction=False
    ):
        e164 = phone_tools.try_normalize(number) or number
        partners = self._sms_partners_for_number(e164) | (partner or self.browse())
        partners._sms_consent_set("opted_in", source, proof, e164, interaction)
        if not partners:
            self.env["phone.blacklist"].sudo().with_context(sms_journey_consent_sync=True)._remove(
                [e164], message=_("SMS opt-in (%s)", source)
            )
        return partners

    def action_sms_opt_in(self):
        self._sms_consent_set("opted_in", "staff", _("Recorded by %s", self.env.user.name))

    def action_sms_opt_out(self):
        self._sms_consent_set("opted_out", "staff", _("Recorded by %s", self.env.user.name))

    def action_sms_request_consent(self):
        """Double opt-in: ask by SMS and wait for a YES."""
        for partner in self.filtered("phone_sanitized"):
            body = partner._sms_consent_request_text()
            partner._sms_consent_set("pending", "staff", body)
            partner.with_context(sms_kind="transactional")._message_sms(
                body, partner_ids=partner.ids
            )
        return True

    def _sms_consent_request_text(self):
        company = self.env.company
        brand = company.sms_brand_name or company.name
        return _(
            "%(brand)s: reply YES to receive our offers by SMS. Reply STOP to opt out, "
            "HELP for help. Msg & data rates may apply.",
            brand=brand,
        )

    def action_view_sms_consent_log(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_journey.sms_consent_log_action")
        action["domain"] = [("partner_id", "=", self.id)]
        return action
