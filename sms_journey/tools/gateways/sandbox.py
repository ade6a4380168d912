"""The sandbox provider: the Twilio client pointed at our loopback server.

The loopback server (``loopback.TwilioFormatServer``, run for demos by
``sandbox_server.py``) speaks exactly Twilio's API, so everything the sandbox exercises —
requests, errors, signed status callbacks — is the real Twilio code path; nothing leaves the
machine.
"""

from .twilio import TwilioClient

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8070"


class SandboxClient(TwilioClient):
    code = "sandbox"
    default_api_url = DEFAULT_SANDBOX_URL
    provider_name = "Sandbox"
