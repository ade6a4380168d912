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
    users add or archive words. Consent keywords are handled before any other rule.
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
