from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import request


class SmsJourneyLinks(http.Controller):
    @http.route("/r/<string:code>/j/<int:trace_id>", type="http", auth="public")
    def journey_short_link(self, code, trace_id, **post):
        """Record the click of a journey SMS link on its trace, then redirect."""
        if not request.env["ir.http"].is_a_bot():
            request.env["link.tracker.click"].sudo().add_click(
                code,
                ip=request.httprequest.remote_addr,
                country_code=request.geoip.country_code,
                sms_journey_trace_id=trace_id,
            )
        url = request.env["link.tracker"].sudo().get_url_from_code(code)
        if not url:
            raise NotFound()
        return request.redirect(url, code=301, local=False)
