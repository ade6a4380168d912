import logging

from odoo.http import Controller, request, route

from ..tools.gateways.base import PayloadError

_logger = logging.getLogger(__name__)


class SmsJourneyWebhookController(Controller):
    """Provider webhooks: delivery reports and inbound SMS.

    Signature first (forged or unsigned → 403, nothing recorded), then the gateway's
    parser in ``tools/gateways``, then one model method. Providers get the answer they
    expect, so they neither retry what we recorded nor what we will never accept.
    """

    def _gateway_and_client(self, gateway_id):
        gateway = request.env["sms.gateway"].sudo().browse(gateway_id).exists()
        if not gateway or not gateway.active:
            return None, None
        return gateway, gateway._get_client()

    @staticmethod
    def _payload():
        """The provider's parameters: the form of a POST (the query string is part of the
        signed URL, not of the parameters), or the query of a GET; and the raw body."""
        httprequest = request.httprequest
        if httprequest.method == "POST":
            params = httprequest.form.to_dict()
        else:
            params = httprequest.args.to_dict()
        return params, httprequest.get_data()

    def _verified(self, gateway_id):
        gateway, client = self._gateway_and_client(gateway_id)
        if not gateway:
            return None, None, request.make_response("Unknown gateway", status=404)
        httprequest = request.httprequest
        params, body = self._payload()
        if not client.verify_signature(httprequest.url, params, httprequest.headers, body):
            _logger.warning("SMS webhook with a bad signature for gateway %s refused", gateway_id)
            client.close()
            return None, None, request.make_response("Invalid signature", status=403)
        return gateway, client, None

    def _answer(self, client):
        status, content_type, body = client.webhook_response()
        client.close()
        return request.make_response(body, headers=[("Content-Type", content_type)], status=status)

    @route(
        "/sms_journey/<int:gateway_id>/status",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def status(self, gateway_id, **params):
        gateway, client, refusal = self._verified(gateway_id)
        if refusal:
            return refusal
        try:
            reports = client.parse_status(*self._payload())
        except PayloadError as error:
            client.close()
            return request.make_response(f"Bad payload: {error}", status=400)
        request.env["sms.gateway.message"].sudo()._process_status_reports(
            gateway, reports, reference=params.get("ref")
        )
        return self._answer(client)

    @route(
        "/sms_journey/<int:gateway_id>/inbound",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def inbound(self, gateway_id, **params):
        gateway, client, refusal = self._verified(gateway_id)
        if refusal:
            return refusal
        try:
            inbound = client.parse_inbound(*self._payload())
        except PayloadError as error:
            client.close()
            return request.make_response(f"Bad payload: {error}", status=400)
        request.env["sms.interaction"].sudo()._receive(gateway, inbound)
        return self._answer(client)
