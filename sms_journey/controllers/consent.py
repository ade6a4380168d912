"""Consent at first contact: the SMS consent checkbox of checkout, sign-up and website
forms. Each route reads the checkbox (never pre-ticked: absent means no consent) and
hands the proof and the number typed to one model method.

The visitor may type anyone's number: no route changes a contact's consent. The number
gets a double opt-in question by SMS (``sms.consent.request._ask_from_web``, which
rate-limits it), and only the YES from that number opts it in. The page answers the same
whatever the number."""

from odoo import fields
from odoo.http import request

from odoo.addons.auth_signup.controllers.main import AuthSignupHome
from odoo.addons.website.controllers.form import WebsiteForm
from odoo.addons.website_sale.controllers.main import WebsiteSale

from ..tools.consent import WebConsent


def web_consent():
    """The consent of the current request: the company's checkbox text as shown, the
    page the form was on, the time, the client's address and its session (hashed)."""
    httprequest = request.httprequest
    return WebConsent(
        text=request.env.company.sudo()._sms_consent_text() or "",
        page=httprequest.referrer or httprequest.path,
        moment=fields.Datetime.now(),
        ip=httprequest.remote_addr or "",
        user_agent=httprequest.user_agent.string if httprequest.user_agent else "",
        session_key=request.env["sms.consent.request"]._session_key(
            getattr(request.session, "sid", "")
        ),
    )


class WebsiteSaleSmsConsent(WebsiteSale):
    def _handle_extra_form_data(self, extra_form_data, address_values):
        result = super()._handle_extra_form_data(extra_form_data, address_values)
        if extra_form_data.get("sms_consent"):
            order = request.website.sale_get_order()
            if order:
                number = address_values.get("phone") or order.partner_id.sudo().phone
                order.sudo()._sms_consent_checkout(web_consent(), number)
        return result


class AuthSignupSmsConsent(AuthSignupHome):
    def do_signup(self, qcontext):
        result = super().do_signup(qcontext)
        params = request.params
        if params.get("sms_consent") and params.get("sms_phone"):
            request.env["sms.consent.request"].sudo()._ask_from_web(
                "web_form", web_consent(), params["sms_phone"], partner=request.env.user.partner_id
            )
        return result


class WebsiteFormSmsConsent(WebsiteForm):
    def insert_record(self, request, model, values, custom, meta=None):
        record_id = super().insert_record(request, model, values, custom, meta=meta)
        self._sms_journey_consent(request)
        return record_id

    def _sms_journey_consent(self, request):
        """The SMS consent box of a website form (contact us), with the phone given."""
        params = request.params
        if params.get("sms_consent") and params.get("phone"):
            request.env["sms.consent.request"].sudo()._ask_from_web(
                "web_form",
                web_consent(),
                params["phone"],
                email=params.get("email_from") or params.get("email"),
                name=params.get("name") or params.get("partner_name"),
            )
