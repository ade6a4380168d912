"""sms.gateway: the failure-rate alert. An hourly cron counts, per gateway, the SMS that
reached the provider over the last 24 hours and those that failed (one query), and
gives SMS managers an activity on a gateway whose rate crosses its company's threshold
(``tools/deliverability.py``), once per gateway and day."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import deliverability

SMS_MANAGER = "sms_journey.group_sms_journey_manager"


class SmsGateway(models.Model):
    _inherit = "sms.gateway"

    failure_alert_date = fields.Date(
        "Failure alert sent on",
        readonly=True,
        copy=False,
        help="The day of the last failure-rate activity: one per gateway and day.",
    )

    @api.model
    def _cron_deliverability_alerts(self):
        """Give SMS managers an activity for each gateway whose failure rate over the
        last 24 hours crosses its company's threshold, once per gateway and day."""
        now = fields.Datetime.now()
        self.env["sms.gateway.message"].flush_model(
            ["gateway_id", "state", "sent_at", "first_attempt_at"]
        )
        counts = self.env.execute_query(
            SQL(
                """SELECT gateway_id, count(*), count(*) FILTER (WHERE state = 'failed')
                     FROM sms_gateway_message
                    WHERE coalesce(sent_at, first_attempt_at) >= %s
                      AND state IN ('sent', 'delivered', 'failed')
                    GROUP BY gateway_id""",
                now - timedelta(hours=24),
            )
        )
        today = fields.Date.context_today(self, now)
        for gateway_id, reached, failed in counts:
            gateway = self.sudo().browse(gateway_id)
            company = gateway.company_id or self.env.company
            if gateway.failure_alert_date == today or not deliverability.rate_alert(
                reached,
                failed,
                company.sms_failure_alert_rate,
                company.sms_failure_alert_min_volume,
            ):
                continue
            gateway._alert_failure_rate(reached, failed)
            gateway.failure_alert_date = today

    def _alert_failure_rate(self, reached, failed):
        """One activity per SMS manager of the gateway's company, on the company's
        contact (as the marketing budget's warning)."""
        self.ensure_one()
        company = (self.company_id or self.env.company).sudo()
        managers = (
            self.env.ref(SMS_MANAGER)
            .sudo()
            .users.filtered(
                lambda user: user.active and not user.share and company in user.company_ids
            )
        )
        summary = self.env._("SMS failure rate high: %(gateway)s", gateway=self.name)
        note = self.env._(
            "%(failed)s of %(reached)s SMS failed through %(gateway)s over the last 24 hours "
            "(%(rate)s %%). See SMS Journeys, Reporting, Deliverability.",
            failed=failed,
            reached=reached,
            gateway=self.name,
            rate=round(deliverability.failure_rate(reached, failed), 1),
        )
        for user in managers:
            company.partner_id.activity_schedule(
                "mail.mail_activity_data_todo", summary=summary, note=note, user_id=user.id
            )
