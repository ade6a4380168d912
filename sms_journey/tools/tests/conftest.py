"""Make ``sms_journey.tools`` importable without Odoo, and hold the shared fixtures.

The addon's ``__init__`` imports its models (and so Odoo); the pure helpers must not
need it. Registering ``sms_journey`` as a bare namespace lets tests import
``sms_journey.tools.*`` directly.

Gateway client fixtures: a module that tests one provider's client names it in
``GATEWAY = "twilio"`` (or ``"vonage"``) and its tests ask for ``server`` (that
provider's loopback server), ``client`` (a client of the server's account),
``recorder`` (a webhook receiver answering as our controller does) and ``make_client``
(``make_client(server, **config_overrides)``, for clients with other settings). The
client's sender is the module's ``SENDER`` when it has one. ``sms(**changes)``
varies the module's usual outgoing SMS, its ``SMS``. Test modules import
helpers from the package under test only, never from one another.
"""

import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parents[2]

if "sms_journey" not in sys.modules:
    package = types.ModuleType("sms_journey")
    package.__path__ = [str(ADDON_DIR)]
    sys.modules["sms_journey"] = package

import os  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from sms_journey.tools.gateways import loopback, twilio, vonage  # noqa: E402
from sms_journey.tools.gateways.base import GatewayConfig  # noqa: E402

# Property tests: no per-example deadline (a loaded 2-core machine makes timings
# meaningless), and in CI a fixed derandomized search, so that a submission is judged on
# the same examples every time; local runs keep exploring new ones.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _twilio_client(server, **overrides):
    values = {
        "api_url": server.url,
        "account_sid": server.account_sid,
        "auth_token": server.auth_token,
        "timeout": 2.0,
    }
    values.update(overrides)
    return twilio.TwilioClient(GatewayConfig(**values))


def _vonage_client(server, clock=None, **overrides):
    values = {
        "api_url": server.url,
        "account_sid": server.api_key,
        "auth_token": server.api_secret,
        "signature_secret": server.signature_secret,
        "timeout": 2.0,
    }
    values.update(overrides)
    return vonage.VonageClient(GatewayConfig(**values), clock=clock)


@dataclass(frozen=True)
class LoopbackGateway:
    server_class: type
    webhook_answer: tuple  # (status, content type, body) our controller answers
    new_client: Callable  # (server, **config overrides) -> client
    sender: str  # used when the test module has no SENDER


LOOPBACK_GATEWAYS = {
    "twilio": LoopbackGateway(
        loopback.TwilioFormatServer,
        (200, "text/xml", twilio.EMPTY_TWIML),
        _twilio_client,
        "+15550001111",
    ),
    "vonage": LoopbackGateway(
        loopback.VonageFormatServer, (204, "text/plain", b""), _vonage_client, "Acme"
    ),
}


@pytest.fixture
def gateway(request):
    """The ``LOOPBACK_GATEWAYS`` entry the requesting module names in ``GATEWAY``."""
    name = getattr(request.module, "GATEWAY", None)
    if name not in LOOPBACK_GATEWAYS:
        known = ", ".join(LOOPBACK_GATEWAYS)
        pytest.fail(f"{request.module.__name__} must set GATEWAY to one of: {known}")
    return LOOPBACK_GATEWAYS[name]


@pytest.fixture
def server(gateway):
    """The provider's loopback server; its timeout simulation sleeps 3 s."""
    with gateway.server_class(timeout_sleep=3.0) as srv:
        yield srv


@pytest.fixture
def recorder(gateway):
    """Receives the server's webhooks and answers as our controller does."""
    with loopback.WebhookRecorder(response=gateway.webhook_answer) as rec:
        yield rec


@pytest.fixture
def make_client(request, gateway):
    """``make_client(server, **overrides)``: a client of the server's account."""
    sender = getattr(request.module, "SENDER", gateway.sender)

    def make(server, **overrides):
        return gateway.new_client(server, **{"sender": sender, **overrides})

    return make


@pytest.fixture
def client(server, make_client):
    """A client of ``server``'s account, closed after the test."""
    client = make_client(server)
    yield client
    client.close()


@pytest.fixture
def sms(request):
    """``sms(**changes)``: the requesting module's ``SMS`` (an ``OutgoingSms``) with
    ``changes`` (``body=``, ``to=``, ``status_callback=``…)."""
    usual = request.module.SMS
    return lambda **changes: replace(usual, **changes)
