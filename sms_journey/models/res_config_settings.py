from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_gateway_id = fields.Many2one(
        related="company_id.sms_gateway_id",
        readonly=False,
        domain="[('company_id', '=', company_id)]",
    )
    sms_send_window_start = fields.Float(related="company_id.sms_send_window_start", readonly=False)
    sms_send_window_end = fields.Float(related="company_id.sms_send_window_end", readonly=False)
    sms_frequency_cap = fields.Integer(related="company_id.sms_frequency_cap", readonly=False)
    sms_frequency_cap_hours = fields.Integer(
        related="company_id.sms_frequency_cap_hours", readonly=False
    )
    sms_frequency_cap_policy = fields.Selection(
        related="company_id.sms_frequency_cap_policy", readonly=False
    )
    sms_marketing_budget = fields.Monetary(
        related="company_id.sms_marketing_budget",
        readonly=False,
        currency_field="sms_budget_currency_id",
    )
    sms_budget_currency_id = fields.Many2one(
        related="company_id.currency_id", string="SMS budget currency"
    )
    sms_marketing_consent = fields.Selection(
        related="company_id.sms_marketing_consent", readonly=False
    )
    sms_brand_name = fields.Char(related="company_id.sms_brand_name", readonly=False)
    sms_support_contact = fields.Char(related="company_id.sms_support_contact", readonly=False)
    sms_courtesy_reply = fields.Char(related="company_id.sms_courtesy_reply", readonly=False)
    sms_reply_reminder_hours = fields.Float(
        related="company_id.sms_reply_reminder_hours", readonly=False
    )
    sms_inactivity_days = fields.Integer(related="company_id.sms_inactivity_days", readonly=False)
    sms_loyalty_window_days = fields.Integer(
        related="company_id.sms_loyalty_window_days", readonly=False
    )
    sms_attribution_click_days = fields.Integer(
        related="company_id.sms_attribution_click_days", readonly=False
    )
    sms_attribution_delivery_hours = fields.Integer(
        related="company_id.sms_attribution_delivery_hours", readonly=False
    )
    sms_activity_website_visits = fields.Boolean(
        related="company_id.sms_activity_website_visits", readonly=False
    )
    sms_activity_email_engagement = fields.Boolean(
        related="company_id.sms_activity_email_engagement", readonly=False
    )
    sms_review_url = fields.Char(related="company_id.sms_review_url", readonly=False)
    # the backfill of the customer facts after the install (res_partner_facts_backfill)
    sms_facts_backfill_running = fields.Boolean(compute="_compute_sms_facts_backfill")
    sms_facts_backfill_progress = fields.Integer(compute="_compute_sms_facts_backfill")
    sms_review_template_id = fields.Many2one(
        related="company_id.sms_review_template_id", readonly=False
    )
    sms_consent_text = fields.Char(related="company_id.sms_consent_text", readonly=False)

    def _compute_sms_facts_backfill(self):
        progress = self.env["res.partner"].sudo()._sms_facts_backfill_progress()
        for settings in self:
            settings.sms_facts_backfill_running = progress is not None
            settings.sms_facts_backfill_progress = progress or 0
