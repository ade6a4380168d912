"""sms.deliverability.report: the SMS that reached a provider, by day, gateway,
destination country and carrier error code; a read-only SQL view over the outbox
(``sms.gateway.message``) for the pivot and graph of SMS Journeys › Reporting."""

from odoo import fields, models, tools
from odoo.tools import SQL


class SmsDeliverabilityReport(models.Model):
    _name = "sms.deliverability.report"
    _description = "SMS deliverability"
    _auto = False
    _order = "day desc"
    _rec_name = "day"

    day = fields.Date(readonly=True)
    gateway_id = fields.Many2one("sms.gateway", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    destination_country = fields.Char("Destination country", readonly=True)
    country_id = fields.Many2one("res.country", readonly=True)
    error_code = fields.Char("Error", readonly=True)
    provider_error_code = fields.Char("Carrier error code", readonly=True)
    permanent_failure = fields.Boolean(readonly=True)
    sms_kind = fields.Selection(
        [
            ("transactional", "Transactional"),
            ("marketing", "Marketing"),
            ("essential", "Essential"),
        ],
        string="Message type",
        readonly=True,
    )
    sent_count = fields.Integer("Sent", readonly=True, aggregator="sum")
    delivered_count = fields.Integer("Delivered", readonly=True, aggregator="sum")
    failed_count = fields.Integer("Failed", readonly=True, aggregator="sum")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                   SELECT min(m.id) AS id,
                          coalesce(m.sent_at, m.first_attempt_at)::date AS day,
                          m.gateway_id, m.company_id, m.destination_country,
                          country.id AS country_id, m.sms_kind,
                          CASE WHEN m.state = 'failed' THEN m.error_code END AS error_code,
                          CASE WHEN m.state = 'failed' THEN m.provider_error_code END
                              AS provider_error_code,
                          coalesce(m.permanent_failure, false) AS permanent_failure,
                          count(*) AS sent_count,
                          count(*) FILTER (WHERE m.state = 'delivered') AS delivered_count,
                          count(*) FILTER (WHERE m.state = 'failed') AS failed_count
                     FROM sms_gateway_message m
                     LEFT JOIN res_country country ON country.code = m.destination_country
                    WHERE coalesce(m.sent_at, m.first_attempt_at) IS NOT NULL
                      AND m.state IN ('sent', 'delivered', 'failed')
                    GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10
                )""",
                SQL.identifier(self._table),
            )
        )
