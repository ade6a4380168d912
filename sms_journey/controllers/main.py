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

    def _handle(self, gateway_id, parse, process):
        """Verify, parse with the gateway's client, hand over to ``process``, answer."""
        gateway = request.env["sms.gateway"].sudo().browse(gateway_id).exists()
        if not gateway or not gateway.active:
            return request.make_response("Unknown gateway", status=404)
        with gateway._get_client() as client:
            params, body = self._payload()
            httprequest = request.httprequest
            if not client.verify_signature(httprequest.url, params, httprequest.headers, body):
                _logger.warning(
                    "SMS webhook with a bad signature for gateway %s refused", gateway_id
                )
                return request.make_response("Invalid signature", status=403)
            try:
                parsed = parse(client)(params, body)
            except PayloadError as error:
                return request.make_response(f"Bad payload: {error}", status=400)
            process(gateway, parsed)
            status, content_type, answer = client.webhook_response()
        return request.make_response(
            answer, headers=[("Content-Type", content_type)], status=status
        )

    @route(
        "/sms_journey/<int:gateway_id>/status",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def status(self, gateway_id, ref=None, **params):
        return self._handle(
            gateway_id,
            lambda client: client.parse_status,
            lambda gateway, reports: request.env["sms.gateway.message"]
            .sudo()
            ._process_status_reports(gateway, reports, reference=ref),
        )

    @route(
        "/sms_journey/<int:gateway_id>/inbound",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def inbound(self, gateway_id, **params):
        return self._handle(
            gateway_id,
            lambda client: client.parse_inbound,
            lambda gateway, inbound: request.env["sms.interaction"]
            .sudo()
            ._receive(gateway, inbound),
        )
