"""sms.gateway: its cost guards (``tools/cost_guard.py``): the destinations it may send
to, against SMS pumping, and its price per segment by destination country."""

from odoo import api, fields, models, tools

from ..tools import cost_guard

SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class SmsGateway(models.Model):
    _inherit = "sms.gateway"

    allowed_country_ids = fields.Many2many(
        "res.country",
        "sms_gateway_allowed_country_rel",
        "gateway_id",
        "country_id",
        string="Allowed destinations",
        groups=SMS_MANAGER,
        help="SMS to numbers of other countries are canceled with their reason, whatever "
        "their kind: this stops fraudsters from making your forms text premium numbers "
        "abroad (SMS pumping). A new gateway starts with the company's country and its "
        "sender's. Empty: every country.",
    )
    price_ids = fields.One2many(
        "sms.gateway.price",
        "gateway_id",
        string="Prices per country",
        groups=SMS_MANAGER,
        help="The price per segment to these destination countries; to others, the "
        "gateway's price per segment.",
    )

    @api.onchange("company_id", "sender", "sender_ids")
    def _onchange_allowed_destinations(self):
        """A new gateway allows its company's country and its senders'; a sender or
        company set later adds its countries (nothing is removed)."""
        for gateway in self:
            gateway.allowed_country_ids |= gateway._home_countries()

    def _home_countries(self):
        """The countries of the company, of the senders' numbers and of the
        destinations the senders serve (res.country)."""
        self.ensure_one()
        numbers = [self.sender] + [s.value for s in self.sender_ids if s.kind == "number"]
        codes = {cost_guard.destination_country(number) for number in numbers if number}
        countries = self.env["res.country"].search([("code", "in", list(codes - {None}))])
        return countries | self.company_id.country_id | self.sender_ids.country_ids

    def _allowed_destinations(self):
        """The ISO codes of the countries this gateway may send to (empty: every one)."""
        self.ensure_one()
        return self._allowed_destinations_of(self.id)

    @api.model
    @tools.ormcache("gateway_id")
    def _allowed_destinations_of(self, gateway_id):
        # read at every enqueue and dispatch; a gateway's change clears the cache
        # (sms.cached.lookup.mixin)
        return frozenset(self.sudo().browse(gateway_id).allowed_country_ids.mapped("code"))

    def _destination_allowed(self, e164):
        """Whether this gateway may send to the number ``e164`` (cached: dispatch path)."""
        allowed = self._allowed_destinations()
        return cost_guard.allowed(cost_guard.destination_country(e164), allowed)

    def _segment_price(self, e164):
        """The price of one segment to the number ``e164``: its country's line, else the
        gateway's price per segment."""
        self.ensure_one()
        prices, fallback = self._segment_prices_of(self.id)
        return cost_guard.price_for(cost_guard.destination_country(e164), prices, fallback)

    @api.model
    @tools.ormcache("gateway_id")
    def _segment_prices_of(self, gateway_id):
        """({ISO code: price per segment}, the gateway's price) of a gateway, cached."""
        gateway = self.sudo().browse(gateway_id)
        prices = {line.country_id.code: line.price_per_segment for line in gateway.price_ids}
        return prices, gateway.price_per_segment


class SmsGatewayPrice(models.Model):
    """The price per segment of a gateway to one destination country."""

    _name = "sms.gateway.price"
    _inherit = ["sms.cached.lookup.mixin"]
    _description = "SMS gateway price per country"
    _order = "gateway_id, country_id"

    gateway_id = fields.Many2one("sms.gateway", required=True, ondelete="cascade", index=True)
    country_id = fields.Many2one("res.country", "Destination", required=True)
    price_per_segment = fields.Float("Price per segment", digits=(12, 5), required=True)
    currency_id = fields.Many2one(related="gateway_id.currency_id")

    _sql_constraints = [
        (
            "gateway_country_unique",
            "unique(gateway_id, country_id)",
            "A gateway has one price per destination country.",
        ),
    ]
