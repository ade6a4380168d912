from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import request

from .main import RECORD_ID


class SmsJourneyLinks(http.Controller):
    @http.route(
        [
            f"/r/<string:code>/j/<{RECORD_ID}:trace_id>/<string:signature>",
            # unsigned (or cut) links still take the customer to the page, unrecorded
            f"/r/<string:code>/j/<{RECORD_ID}:trace_id>",
        ],
        type="http",
        auth="public",
    )
    def journey_short_link(self, code, trace_id, signature=None, **post):
        """Record the click of a journey SMS link on its trace, then redirect.

        The signature is checked by ``link.tracker.click.add_click``: a wrong or missing
        one counts as a plain click of the link, for no trace.
        """
        if "\x00" in code or "\x00" in (signature or ""):
            raise NotFound()  # no link has one, and PostgreSQL refuses it in a query (a 500)
        if not request.env["ir.http"].is_a_bot():
            request.env["link.tracker.click"].sudo().add_click(
                code,
                ip=request.httprequest.remote_addr,
                country_code=request.geoip.country_code,
                sms_journey_trace_id=trace_id,
                sms_journey_signature=signature,
            )
        url = request.env["link.tracker"].sudo().get_url_from_code(code)
        if not url:
            raise NotFound()
        if not request.env["ir.http"].is_a_bot():
            # a survey link opens the survey on this contact's own answer
            url = (
                request.env["sms.journey.trace"]
                .sudo()
                ._landing_redirect(code, trace_id, signature, url)
            )
        return request.redirect(url, code=301, local=False)
