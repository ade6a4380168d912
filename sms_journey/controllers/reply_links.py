"""The pages of reply links: what an SMS from a one-way sender carries instead of
"reply ..." (``tools/reply_links.py``). Public, no login.

GET only shows the page (a link preview or a scanner opening it changes nothing); the
POST of its form (CSRF-checked) answers, through ``sms.interaction._answer_link``. Every
id comes from the signed token; a malformed, forged or expired link gets a 4xx page and
changes nothing; each client address has :data:`LIMITER`'s number of hits a minute."""

from odoo import fields
from odoo.http import Controller, request, route

from ..tools import reply_links
from ..tools.consent import WebConsent

# per client address and Odoo worker
LIMITER = reply_links.WindowLimiter(limit=30, window=60)
STATUS = {
    reply_links.MALFORMED: 404,
    reply_links.FORGED: 404,
    reply_links.EXPIRED: 410,
    "gone": 410,
}


class SmsReplyLinks(Controller):
    @route(
        "/o/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        website=True,
        sitemap=False,
    )
    def reply_link(self, token, answer=None, **_post):
        env = request.env
        if not LIMITER.hit(request.httprequest.remote_addr or ""):
            return self._render(
                env._("Too many requests"), env._("Please try again in a minute."), 429
            )
        Interaction = env["sms.interaction"].sudo()
        row, link, target, refusal = Interaction._resolve_link(token)
        if refusal:
            message = (
                env._("This link has expired or its question is closed.")
                if STATUS[refusal] == 410
                else env._("This link is not valid. Please check that it was copied whole.")
            )
            return self._render(env._("Link not valid"), message, STATUS[refusal])
        page = Interaction._link_page(row, link.action, target)
        if request.httprequest.method != "POST":
            return self._render(page["title"], page["question"], 200, options=page["options"])
        reply = Interaction._answer_link(row, link.action, target, answer, self._proof(page))
        if not reply:
            return self._render(
                page["title"], page["question"], 400, options=page["options"], error=True
            )
        return self._render(page["title"], Interaction._link_done(link.action, reply, answer), 200)

    def _render(self, title, message, status, options=None, error=False):
        return request.render(
            "sms_journey.reply_link_page",
            {"title": title, "message": message, "options": options or [], "error": error},
            status=status,
        )

    def _proof(self, page):
        """The consent proof of the page: the question shown, the page, time, IP, browser."""
        httprequest = request.httprequest
        return WebConsent(
            text=page["question"],
            page=httprequest.url,
            moment=fields.Datetime.now(),
            ip=httprequest.remote_addr or "",
            user_agent=httprequest.user_agent.string if httprequest.user_agent else "",
        ).proof()
