from odoo import api, fields, models, tools

from ..tools import keywords as keyword_tools

FAMILIES = [
    ("opt_out", "Opt-out (STOP)"),
    ("opt_in", "Opt-in (START)"),
    ("help", "Help (HELP)"),
    ("confirm", "Confirm opt-in (YES)"),
]


class SmsConsentKeyword(models.Model):
    """A word that, as the first word of an inbound SMS, changes or explains consent.

    Seeded from ``tools.keywords.CONSENT_KEYWORDS`` in the languages we support;
    users add or archive words. Consent keywords are handled before any other rule, by
    ``_handle_reply`` (the inbound pipeline's first step): STOP opts the number out,
    START opts it in again, HELP is answered with ``_help_text``, YES confirms a double
    opt-in.
    """

    _name = "sms.consent.keyword"
    _inherit = ["sms.cached.lookup.mixin"]
    _description = "SMS Consent Keyword"
    _order = "family, lang, name"

    name = fields.Char("Keyword", required=True)
    family = fields.Selection(FAMILIES, required=True)
    lang = fields.Char("Language", help="ISO code of the language the word belongs to.")
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("name_family_unique", "unique(name, family)", "This keyword already exists."),
    ]

    @api.model
    def _seed_default_keywords(self):
        existing = {(k.name, k.family) for k in self.with_context(active_test=False).search([])}
        vals_list = []
        for family, by_lang in keyword_tools.CONSENT_KEYWORDS.items():
            for lang, words in by_lang.items():
                for word in words:
                    if (word, family) not in existing:
                        existing.add((word, family))
                        vals_list.append({"name": word, "family": family, "lang": lang})
        self.create(vals_list)

    @api.model
    @tools.ormcache()
    def _get_families(self):
        """family → keywords, the shape ``tools.keywords.classify_consent`` takes.

        Cached: every inbound SMS asks, the list changes rarely."""
        families = {}
        for keyword in self.sudo().search([]):
            families.setdefault(keyword.family, []).append(keyword.name)
        return {family: tuple(words) for family, words in families.items()}

    @api.model
    def _classify(self, text):
        return keyword_tools.classify_consent(text, self._get_families())

    # --- the inbound pipeline's first step ----------------------------------------

    @api.model
    def _handle_reply(self, interaction, batch):
        """Apply the consent keyword ``interaction`` starts with, if any: record it as
        the reply's ``consent_action``, change the number's consent, and queue the
        confirmation on ``batch``."""
        family = self._classify(interaction.body or "")
        if not family:
            return
        partner_model = self.env["res.partner"]
        proof = interaction._consent_proof()
        company = interaction.gateway_id.company_id
        brand = company.sms_brand_name or company.name
        consent_args = (interaction.number, "keyword", proof, interaction.partner_id)
        if family == "opt_out":
            interaction._pipeline_write({"consent_action": "opt_out"})
            partner_model._sms_consent_opt_out_number(
                *consent_args, interaction=interaction, company=company
            )
            # Essential: the confirmation goes out although the number is now blacklisted.
            text = self.env._(
                "%(brand)s: you are unsubscribed and will receive no more SMS. "
                "Reply START to subscribe again.",
                brand=brand,
            )
            interaction._reply(batch, text, kind="essential")
        elif family == "opt_in":
            interaction._pipeline_write({"consent_action": "opt_in"})
            partner_model._sms_consent_opt_in_number(
                *consent_args, interaction=interaction, company=company
            )
            text = self.env._(
                "%(brand)s: you are subscribed to our SMS again. Reply STOP to opt out.",
                brand=brand,
            )
            interaction._reply(batch, text)
        elif family == "help":
            interaction._pipeline_write({"consent_action": "help"})
            # CTIA: HELP is answered even to a number that sent STOP
            interaction._reply(batch, self._help_text(company), kind="essential")
        elif family == "confirm" and self._confirm_double_opt_in(interaction, proof):
            interaction._pipeline_write({"consent_action": "confirm"})
            text = self.env._(
                "%(brand)s: thank you, your SMS subscription is confirmed. "
                "Reply STOP to opt out.",
                brand=brand,
            )
            interaction._reply(batch, text)

    @api.model
    def _confirm_double_opt_in(self, interaction, proof):
        """A YES from the number: confirms the question staff asked its contact (pending)
        or a website form texted to it. False when nobody asked."""
        partner = interaction.partner_id
        if partner.sms_consent_state == "pending":
            partner._sms_consent_set(
                "opted_in", "keyword", proof, interaction.number, interaction=interaction
            )
            return True
        return bool(
            self.env["sms.consent.request"]
            .sudo()
            ._confirm_from_number(
                interaction.number, interaction.gateway_id.company_id, proof, interaction
            )
        )

    @api.model
    def _help_text(self, company):
        """The answer to HELP: who we are, how often we text, where to get help."""
        brand = company.sms_brand_name or company.name
        support = company.sms_support_contact or company.email or company.phone or ""
        cap = company.sms_frequency_cap
        frequency = (
            self.env._("Up to %(n)s msg per %(h)s h.", n=cap, h=company.sms_frequency_cap_hours)
            if cap > 0
            else self.env._("Msg frequency varies.")
        )
        return self.env._(
            "%(brand)s: %(frequency)s Msg & data rates may apply. Help: %(support)s. "
            "Reply STOP to opt out.",
            brand=brand,
            frequency=frequency,
            support=support,
        )
