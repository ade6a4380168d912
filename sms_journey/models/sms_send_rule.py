from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..tools import policy, send_rules

WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SmsSendRule(models.Model):
    """A destination's legal rule for marketing SMS, with its source.

    Shipped rows hold what a law says (``data/sms_send_rule_data.xml``); a country
    without a sourced rule has no row. The sending policy applies every active rule of
    a recipient's destination together with the company's own window (see
    ``tools/send_rules.py`` for which rules apply and in which zones, and
    ``tools/policy.py`` for the order of the checks). Only marketing SMS are concerned.
    """

    _name = "sms.send.rule"
    _inherit = ["sms.cached.lookup.mixin"]
    _description = "SMS legal send window"
    _order = "country_id, state_id desc, name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    country_id = fields.Many2one("res.country", required=True)
    state_id = fields.Many2one(
        "res.country.state",
        domain="[('country_id', '=', country_id)]",
        help="Empty: the rule holds for every number of the country. Set: for the numbers "
        "with one of the prefixes below and for contacts whose address is in this state.",
    )
    number_prefixes = fields.Char(
        "Number prefixes",
        help="The state's numbers: + and the country code and area code, separated by "
        "spaces (+1305 +1786).",
    )
    hour_start = fields.Float(
        "From", default=8.0, help="Recipient's local time. From = Until: all day."
    )
    hour_end = fields.Float("Until", default=21.0, help="Excluded.")
    monday = fields.Boolean(default=True)
    tuesday = fields.Boolean(default=True)
    wednesday = fields.Boolean(default=True)
    thursday = fields.Boolean(default=True)
    friday = fields.Boolean(default=True)
    saturday = fields.Boolean(default=True)
    sunday = fields.Boolean(default=True)
    holidays = fields.Char(
        "Excluded holidays",
        help="Days without marketing SMS, separated by spaces: MM-DD for a fixed day "
        "(12-25), easter+N for a day N days after Easter Sunday (easter+1: Easter Monday).",
    )
    max_per_day = fields.Integer(
        "Marketing SMS per 24 h",
        help="At most this many marketing SMS to a number within 24 hours; the next one "
        "is canceled. 0: the law sets no maximum.",
    )
    source = fields.Text(required=True, help="The law or rule this row encodes.")
    source_url = fields.Char("Source link")

    @api.constrains("hour_start", "hour_end", "holidays", "number_prefixes", "state_id")
    def _check_rule(self):
        for rule in self:
            try:
                rule._send_rule()
            except ValueError as error:
                raise ValidationError(
                    self.env._("%(rule)s: %(error)s", rule=rule.name, error=error)
                ) from None
            if rule.state_id and not rule.number_prefixes:
                raise ValidationError(
                    self.env._("%(rule)s: a state rule needs its number prefixes.", rule=rule.name)
                )

    def _send_rule(self):
        """This row as a ``tools.send_rules.SendRule``.

        :raises ValueError: on hours, holidays or prefixes it cannot read.
        """
        self.ensure_one()
        return send_rules.SendRule(
            name=self.name,
            country=self.country_id.code or "",
            region=self.state_id.code or "",
            prefixes=send_rules.parse_prefixes(self.number_prefixes),
            window=send_rules.Window(
                self.hour_start,
                self.hour_end,
                weekdays=frozenset(day for day, fname in enumerate(WEEKDAY_FIELDS) if self[fname]),
                holidays=send_rules.parse_holidays(self.holidays),
                label=f"sms.send.rule:{self.id}",
            ),
            max_per_day=max(self.max_per_day, 0),
            source=self.source or "",
        )

    @api.model
    @tools.ormcache()
    def _active_send_rules(self):
        """Every active rule, as ``tools.send_rules.SendRule``. Cached: the policy asks
        for each batch, the rules change rarely (the mixin clears the cache)."""
        return tuple(rule._send_rule() for rule in self.sudo().search([]))

    @api.model
    def _max_per_day_hours(self):
        """The history the legal maximums need (hours): a day when an active rule sets
        one, else 0."""
        if any(rule.max_per_day for rule in self._active_send_rules()):
            return policy.LEGAL_CAP_HOURS
        return 0
