import logging

from psycopg2 import DataError, IntegrityError, InternalError, OperationalError
from psycopg2.errors import ProgramLimitExceeded, UniqueViolation

from odoo.http import Controller, request, route

from ..tools.gateways.base import (
    MAX_ID_LENGTH,
    PayloadError,
    SenderRefused,
    clean_text,
    shorten,
)

_logger = logging.getLogger(__name__)

#: Largest webhook body accepted (bytes). Real ones are a few KB: a Twilio reply of 1,600
#: characters with 10 media links stays under 25 KB even percent-encoded. Larger bodies
#: get 413 from the Content-Length alone, before anything is read.
MAX_WEBHOOK_BODY = 64 * 1024

# Errors PostgreSQL raises about a value (not about the server): the payload is at fault,
# retrying it would fail the same way.
_VALUE_ERRORS = (DataError, ProgramLimitExceeded, ValueError, UnicodeError)

#: The URL part of a record id: a positive PostgreSQL ``integer``. Any other number
#: (0, beyond 2**31 - 1, which PostgreSQL refuses with an error) does not match the
#: route: 404 from the router, before anything is looked up.
RECORD_ID = "int(min=1, max=2147483647)"


def webhook_route(path):
    """The route of a provider webhook at ``path``: public, GET or POST as the provider
    chooses, no CSRF token nor session (providers have neither), bodies up to
    MAX_WEBHOOK_BODY. Our gateways' webhooks and the bridges' (``sms_journey_twilio``)
    are declared with it, so they accept the same requests."""
    return route(
        path,
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
        max_content_length=MAX_WEBHOOK_BODY,
        sms_journey_webhook=True,
    )


def _webhook_route(kind):
    """The route of a gateway's ``kind`` webhook (``status`` or ``inbound``)."""
    return webhook_route(f"/sms_journey/<{RECORD_ID}:gateway_id>/{kind}")


class SmsJourneyWebhookController(Controller):
    """Provider webhooks: delivery reports and inbound SMS.

    A gateway id that is no positive 32-bit integer does not match the route (404
    before any lookup), nor does one of no active gateway. Body larger than
    MAX_WEBHOOK_BODY → 413 (route ``max_content_length``). Signature first (forged or
    unsigned → 403, nothing recorded), then the gateway's parser in ``tools/gateways``
    (malformed → 400 with the reason), then one model method (a sender the gateway
    takes no replies from, as a sandbox's from a number it never texted → 403).
    Providers get the answer they expect, so they neither retry what we recorded nor
    what we will never accept.

    Client input never causes a 500: values are cleaned by the parsers (NUL and control
    characters become U+FFFD), and an error while recording that comes from the payload
    is rolled back, logged with the payload, and answered 400. Errors of the server
    itself (database unavailable, lock and serialisation conflicts) still propagate, so
    the provider retries later and nothing is lost.
    """

    @staticmethod
    def _payload():
        """The provider's parameters: the form of a POST (the query string is part of the
        signed URL, not of the parameters), or the query of a GET; and the raw body.
        Multi-dicts, as Twilio signs every value of a repeated field."""
        httprequest = request.httprequest
        params = httprequest.form if httprequest.method == "POST" else httprequest.args
        return params, httprequest.get_data()

    def _handle(self, gateway_id, parse, process):
        """Verify, parse with the gateway's client, hand over to ``process``, answer."""
        setup = request.env["sms.gateway"]._webhook_setup(gateway_id)
        if not setup:
            return request.make_response("Unknown gateway", status=404)
        gateway = request.env["sms.gateway"].sudo().browse(gateway_id)
        with setup.client_class(setup.config) as client:
            params, body = self._payload()
            httprequest = request.httprequest
            if not client.verify_signature(
                httprequest.url, params, httprequest.headers, body, httprequest.method
            ):
                _logger.warning(
                    "SMS webhook with a bad signature for gateway %s refused", gateway_id
                )
                return request.make_response("Invalid signature", status=403)
            try:
                parsed = parse(client)(params, body)
            except PayloadError as error:
                return request.make_response(f"Bad payload: {error}", status=400)
            refusal = self._process(gateway, process, parsed)
            if refusal:
                return request.make_response(refusal[1], status=refusal[0])
            status, content_type, answer = client.webhook_response()
        return request.make_response(
            answer, headers=[("Content-Type", content_type)], status=status
        )

    @staticmethod
    def _process(gateway, process, parsed):
        """Run ``process``; ``(HTTP status, reason)`` when the payload made it fail, None
        when it was recorded. The request's transaction holds nothing else, so a failure
        is rolled back whole: no savepoint (two more round trips) around the INSERT."""
        cr = request.env.cr
        try:
            process(gateway, parsed)
            request.env.flush_all()  # a value PostgreSQL refuses is refused here
        except SenderRefused as refusal:
            # signed, well formed, but not a sender this gateway takes replies from
            cr.rollback()
            return 403, f"Sender refused: {refusal}"
        except UniqueViolation:
            # the same provider message recorded by a concurrent request right now
            cr.rollback()
            return 409, "Already being recorded"
        except _VALUE_ERRORS as error:
            cr.rollback()
            _logger.warning(
                "SMS webhook of gateway %s refused, its values cannot be stored: %s; payload %r",
                gateway.id,
                error,
                parsed,
            )
            return 400, f"Unprocessable values: {shorten(error, 200)}"
        except (IntegrityError, InternalError, OperationalError):
            raise  # the server's trouble (conflict, database down): the provider retries
        except Exception:
            # A bug met on this payload: logged in full, answered 400 so that the provider
            # does not retry it forever; the payload in the log allows replaying it.
            cr.rollback()
            _logger.exception("SMS webhook of gateway %s failed on payload %r", gateway.id, parsed)
            return 400, "Could not process this payload"
        return None

    @_webhook_route("status")
    def status(self, gateway_id):
        ref = request.httprequest.args.get("ref") or None
        ref = shorten(clean_text(ref), MAX_ID_LENGTH) if ref else None
        return self._handle(
            gateway_id,
            lambda client: client.parse_status,
            lambda gateway, reports: request.env["sms.gateway.message"]
            .sudo()
            ._process_status_reports(gateway, reports, reference=ref),
        )

    @_webhook_route("inbound")
    def inbound(self, gateway_id):
        return self._handle(
            gateway_id,
            lambda client: client.parse_inbound,
            lambda gateway, inbound: gateway.sudo()._receive_inbound(inbound),
        )
