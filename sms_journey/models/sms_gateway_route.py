"""sms.gateway.route: a company's routing of a destination country to a gateway of its
own (``tools/routing.py``), read where the outbox picks the gateway of an SMS
(``sms.gateway._get_company_gateway``)."""

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError


class SmsGatewayRoute(models.Model):
    """SMS to numbers of ``country_id`` go through ``gateway_id`` instead of the
    company's gateway, as OCA's ``sms_alternative_provider`` routes by country. The
    gateway's allowed destinations and its senders still apply."""

    _name = "sms.gateway.route"
    _inherit = ["sms.cached.lookup.mixin"]
    _description = "SMS routing by destination country"
    _order = "company_id, country_id"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    country_id = fields.Many2one("res.country", "Destination", required=True)
    gateway_id = fields.Many2one(
        "sms.gateway",
        required=True,
        ondelete="cascade",
        domain="[('company_id', '=', company_id)]",
    )

    _sql_constraints = [
        (
            "company_country_unique",
            "unique(company_id, country_id)",
            "A company routes each destination country to one gateway.",
        ),
    ]

    @api.constrains("company_id", "gateway_id")
    def _check_company(self):
        for route in self:
            if route.gateway_id.company_id != route.company_id:
                raise ValidationError(
                    self.env._(
                        "%(gateway)s belongs to another company than %(company)s.",
                        gateway=route.gateway_id.display_name,
                        company=route.company_id.display_name,
                    )
                )

    @api.model
    @tools.ormcache("company_id")
    def _routes_of(self, company_id):
        """{ISO code: gateway id} of a company's routes to active gateways with a
        provider: read for every SMS sent, cleared by any change of a route or a
        gateway (``sms.cached.lookup.mixin``)."""
        routes = self.sudo().search([("company_id", "=", company_id)])
        return {
            route.country_id.code: route.gateway_id.id
            for route in routes
            if route.gateway_id.active and route.gateway_id.code != "none"
        }
