from datetime import timedelta

from odoo import fields, models
from odoo.http import request

# A visit writes the contact's last interaction at most once per this much browsing:
# inactivity counts in days, and a page view must not rewrite the partner row.
VISIT_GRANULARITY = timedelta(hours=1)


class WebsiteVisitor(models.Model):
    """A signed-in customer's website visit is activity: it moves the contact's last
    interaction (inactivity, stages), when the website's company counts visits."""

    _inherit = "website.visitor"

    def _upsert_visitor(self, access_token, force_track_values=None):
        result = super()._upsert_visitor(access_token, force_track_values)
        # The token of a signed-in visitor is their partner id (anonymous: a 32-char hash).
        if len(str(access_token)) != 32 and request and request.website:
            company = request.website.company_id
            if company.sms_activity_website_visits:
                partner = self.env["res.partner"].sudo().browse(int(access_token))
                partner._sms_touch_engagement(fields.Datetime.now(), VISIT_GRANULARITY)
        return result
