from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL, email_normalize

from ..tools import results


class MailingTrace(models.Model):
    """What the results of SMS mailings need on their traces: every click counted (a
    second click too) and the STOP that answered the SMS; indexes for the attribution
    of orders (by contact or by number) and of replies (by number): the SMS reply that
    answers a mailing's SMS marks its trace replied (``_sms_find_answered_by``,
    ``_sms_record_reply``).

    E-mail engagement (open, click, reply of a mass mailing e-mail) is activity of the
    contact: ``_sms_touch_engaged_partners`` moves their last interaction."""

    _inherit = "mailing.trace"

    sms_click_count = fields.Integer("SMS clicks", readonly=True)
    sms_opted_out_at = fields.Datetime("STOP received", readonly=True)

    def init(self):
        result = super().init()
        self.env.cr.execute(
            SQL(
                """
            CREATE INDEX IF NOT EXISTS mailing_trace_sms_number_index
                ON mailing_trace (sms_number) WHERE trace_type = 'sms';
            CREATE INDEX IF NOT EXISTS mailing_trace_sms_partner_index
                ON mailing_trace (res_id) WHERE trace_type = 'sms' AND model = 'res.partner';
            """
            )
        )

        # --- e-mail engagement counts as activity ------------------------------------------
        return result

    def set_opened(self, domain=None):
        traces = super().set_opened(domain=domain)
        traces._sms_touch_engaged_partners()
        return traces

    def set_clicked(self, domain=None):
        traces = super().set_clicked(domain=domain)
        traces._sms_touch_engaged_partners()
        return traces

    def set_replied(self, domain=None):
        traces = super().set_replied(domain=domain)
        traces._sms_touch_engaged_partners()
        return traces

    def _sms_touch_engaged_partners(self):
        """The contacts behind these e-mail traces engaged now: a contact traced as
        ``res.partner`` directly, a mailing contact (or another model) by its e-mail
        address; only where the contact's company counts e-mail engagement."""
        traces = self.filtered(lambda trace: trace.trace_type == "mail")
        if not traces:
            return
        Partner = self.env["res.partner"].sudo()
        partners = Partner.browse(
            {t.res_id for t in traces if t.model == "res.partner" and t.res_id}
        ).exists()
        emails = {
            email_normalize(t.email) for t in traces if t.model != "res.partner" and t.email
        } - {False, None}
        if emails:
            partners |= Partner.search([("email_normalized", "in", list(emails))])
        partners = partners._sms_engagement_switched_on("sms_activity_email_engagement")
        partners._sms_touch_engagement(fields.Datetime.now())

    # --- the SMS reply that answers a mailing's SMS (the inbound pipeline) ---------------

    def _sms_find_answered_by(self, interaction, journey_trace):
        """The SMS mailing trace ``interaction`` answers: the latest SMS of a mailing to
        its number within the campaign report's horizon (``results.DAYS``), when it is
        more recent than ``journey_trace`` (the journey SMS it would answer instead)."""
        if not interaction.number:
            return self.browse()
        since = interaction.received_at - timedelta(days=results.DAYS)
        if journey_trace:
            since = max(since, journey_trace.executed_at)
        return self.sudo().search(
            [
                ("trace_type", "=", "sms"),
                ("sms_number", "=", interaction.number),
                ("create_date", ">", since),
                ("create_date", "<=", interaction.received_at),
            ],
            order="create_date desc, id desc",
            limit=1,
        )

    def _sms_record_reply(self, interaction):
        """``interaction`` answers this SMS: replied, and opted out on STOP."""
        self.set_replied()
        if interaction.consent_action == "opt_out":
            self.sudo().sms_opted_out_at = interaction.received_at
