"""The "Text me when it's back" form of a sold-out product's page: one POST
(CSRF-checked). A signed-in customer with a mobile asks for themself; a visitor types a
number, whose contact is found (or created with only the number, in the website's
company, as website forms do). Every answer is a page with a clear message and a 4xx
on bad input, never a 5xx; the page says the same whether the number was known or
not. Each client address has :data:`LIMITER`'s number of posts a minute."""

from odoo import fields
from odoo.http import Controller, request, route

from odoo.addons.sms_journey.tools.consent import WebConsent
from odoo.addons.sms_journey.tools.reply_links import WindowLimiter

# per client address and Odoo worker (as the reply links' pages)
LIMITER = WindowLimiter(limit=10, window=60)


class SmsBackInStock(Controller):
    @route(
        "/sms_journey/back_in_stock",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def back_in_stock(self, product_id=None, phone=None, **_post):
        env = request.env
        if not LIMITER.hit(request.httprequest.remote_addr or ""):
            return self._render(
                env._("Too many requests"), env._("Please try again in a minute."), 429
            )
        product = self._product(product_id)
        if not product:
            return self._render(
                env._("Product not found"), env._("This product is not available."), 404
            )
        Request = env["sms.back.in.stock.request"]
        company = request.website.company_id
        back = product.website_url
        if not Request._is_sold_out(product, company):
            return self._render(product.display_name, env._("This product is in stock."), 200, back)
        if request.website.is_public_user():
            number = Request._normalize(phone, company)
            if not number:
                return self._render(
                    env._("Mobile number not valid"),
                    env._("Please type your mobile number with its country code."),
                    400,
                    back,
                )
            partner = Request._partner_for_number(number, company)
        else:
            partner = env.user.partner_id
            number = Request._normalize(partner.mobile or partner.phone, company)
            if not number:
                return self._render(
                    env._("No mobile number"),
                    env._("Add your mobile number to your account, then try again."),
                    400,
                    "/my/account",
                )
        Request._record(partner, product, company, "web", self._proof(product), number=number)
        return self._render(
            product.display_name,
            env._("We will text you when this product is back in stock."),
            200,
            back,
        )

    def _product(self, product_id):
        """The product of ``product_id`` if this website sells it (published, of its
        company or shared, not of another website), else an empty recordset."""
        Product = request.env["product.product"].sudo()
        try:
            product_id = int(product_id)
        except (TypeError, ValueError, OverflowError):
            return Product
        if not 0 < product_id < 2**31:
            return Product
        product = Product.browse(product_id).exists()
        website = request.website
        if (
            not product
            or not product.active
            or not product.sale_ok
            or not product.is_published
            or (product.company_id and product.company_id != website.company_id)
            or not product.product_tmpl_id.can_access_from_current_website()
        ):
            return Product
        return product

    def _render(self, title, message, status, back=None):
        return request.render(
            "sms_journey_website_sale_stock.back_in_stock_page",
            {"title": title, "message": message, "back": back or "/shop"},
            status=status,
        )

    def _proof(self, product):
        """The proof of the request: the page, time, IP, browser."""
        httprequest = request.httprequest
        return WebConsent(
            text=request.env._("Text me when %s is back", product.display_name),
            page=httprequest.referrer or httprequest.url,
            moment=fields.Datetime.now(),
            ip=httprequest.remote_addr or "",
            user_agent=httprequest.user_agent.string if httprequest.user_agent else "",
        ).proof()
