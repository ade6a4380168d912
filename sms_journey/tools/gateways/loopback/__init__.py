"""Loopback HTTP servers speaking Twilio's and Vonage's SMS APIs.

Used by the pytest and Odoo tests, by the benchmarks and, through ``sandbox_server.py``, as
the demo "sandbox" provider. Each server runs a stdlib ``ThreadingHTTPServer`` in a
background thread on 127.0.0.1 (port 0 = a free port), keeps HTTP/1.1 connections alive so
clients reuse them, records what it received and can be scripted to fail the way the real
provider does::

    with TwilioFormatServer() as server:
        client = TwilioClient(GatewayConfig(api_url=server.url,
                                            account_sid=server.account_sid,
                                            auth_token=server.auth_token))
        server.fail_next(kind="rate_limited")
        ...
        server.post_status(sid, "delivered")   # signed status callback

This module imports nothing but the standard library, so it also runs as a plain script's
neighbour (``sandbox_server.py``) without the addon being importable; the signature
functions are implemented here independently of the clients', which lets the tests check
one against the other.
"""

from .server import WebhookRecorder, http_post, twilio_signature, vonage_signature
from .twilio_format import TwilioFormatServer
from .vonage_format import VonageFormatServer

__all__ = [
    "TwilioFormatServer",
    "VonageFormatServer",
    "WebhookRecorder",
    "http_post",
    "twilio_signature",
    "vonage_signature",
]
