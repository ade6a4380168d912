from odoo.http import Controller, request

from odoo.addons.sms_journey.controllers.main import (
    SmsJourneyWebhookController,
    webhook_route,
)


class SmsJourneyTwilioWebhookController(Controller):
    """Replies to the Twilio numbers of Odoo's ``sms_twilio``: give Twilio
    ``<web.base.url>/sms_journey_twilio/inbound`` as the number's "A message comes in"
    webhook. (Delivery reports of what Odoo's Twilio sends stay with sms_twilio's
    ``/sms_twilio/status/<uuid>``.)

    The company is the one whose ``sms.twilio.number`` is the ``To`` number (else whose
    account is ``AccountSid``); none → 404, nothing stored. Then our webhook's pipeline
    (``SmsJourneyWebhookController._handle``) on the company's anchor gateway: the
    signature checked with the company's auth token as for our own Twilio gateway
    (forged or unsigned → 403), the payload parsed by our Twilio client (malformed →
    400), the reply stored by ``sms.gateway._receive_inbound``, the empty TwiML answer.
    """

    @webhook_route("/sms_journey_twilio/inbound")
    def inbound(self):
        webhook = SmsJourneyWebhookController()
        params, _body = webhook._payload()
        gateway = (
            request.env["sms.gateway"]
            .sudo()
            ._odoo_twilio_gateway_for(params.get("To"), params.get("AccountSid"))
        )
        if not gateway:
            return request.make_response("Unknown Twilio number", status=404)
        return webhook._handle(
            gateway.id,
            lambda client: client.parse_inbound,
            lambda gateway, inbound: gateway.sudo()._receive_inbound(inbound),
        )
