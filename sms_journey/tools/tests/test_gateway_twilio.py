"""Twilio client against the Twilio-format loopback server (real HTTP, no mocks)."""

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from sms_journey.tools.gateways import base, loopback, sandbox, twilio
from sms_journey.tools.gateways.base import GatewayConfig, OutgoingSms

GATEWAY = "twilio"  # conftest's server, client, recorder, make_client, sms fixtures
SENDER = "+15550001111"
TO = "+15557654321"
REF = "0123456789abcdef0123456789abcdef"
SMS = OutgoingSms(REF, TO, "Hello from the journey")  # what the sms fixture varies


# --- sending ------------------------------------------------------------------------------


def test_send_happy_path(server, client, sms):
    result = client.send(sms(status_callback="https://odoo.example.com/sms_journey/status/" + REF))
    assert result.status == "sent"
    assert result.reference == REF
    assert result.provider_message_id.startswith("SM")
    assert result.segments == 1
    assert result.error_code is None
    [received] = server.messages
    assert received["sid"] == result.provider_message_id
    assert received["to"] == TO
    assert received["from"] == SENDER
    assert received["body"] == "Hello from the journey"
    assert received["status_callback"] == "https://odoo.example.com/sms_journey/status/" + REF
    assert received["messaging_service_sid"] is None


def test_send_without_status_callback_and_multipart(server, client, sms):
    result = client.send(sms(body="x" * 200))
    assert result.status == "sent"
    assert result.segments == 2
    assert server.messages[0]["status_callback"] is None


def test_messaging_service_sender(server, make_client, sms):
    with make_client(server, sender="MG0123456789abcdef0123456789abcdef") as client:
        result = client.send(sms())
    assert result.status == "sent"
    [received] = server.messages
    assert received["messaging_service_sid"] == "MG0123456789abcdef0123456789abcdef"
    assert received["from"] is None


def test_wrong_credentials(server, make_client, sms):
    with make_client(server, auth_token="wrong") as client:
        result = client.send(sms())
    assert (result.status, result.error_code) == ("failed", "auth")
    assert "20003" in result.error_message
    assert server.messages == []


@pytest.mark.parametrize(
    "kind, status, error_code, provider_code",
    [
        ("invalid_number", "failed", "invalid_number", "21211"),
        ("not_mobile", "failed", "invalid_number", "21614"),
        ("opted_out", "failed", "opted_out", "21610"),
        ("auth", "failed", "auth", "20003"),
        ("credit", "failed", "credit", "20005"),
        ("rate_limited", "retry", "rate_limited", "20429"),
        ("server_error", "retry", "server_error", "20500"),
        ("unavailable", "retry", "server_error", "20503"),
    ],
)
def test_provider_errors(server, client, kind, status, error_code, provider_code, sms):
    server.fail_next(kind=kind)
    result = client.send(sms())
    assert (result.status, result.error_code) == (status, error_code)
    assert provider_code in result.error_message
    assert result.provider_message_id is None
    assert server.messages == []
    # the failure was used up: the next send goes through
    assert client.send(sms()).status == "sent"


def test_rate_limited_carries_retry_after(server, client, sms):
    server.fail_next(kind="rate_limited")
    result = client.send(sms())
    assert result.retry_after == 1.0


def test_invalid_number_validated_by_server(client, sms):
    result = client.send(sms(to="12345"))
    assert (result.status, result.error_code) == ("failed", "invalid_number")
    assert "21211" in result.error_message


def test_magic_test_numbers(client, sms):
    assert client.send(sms(to="+15005550001")).error_code == "invalid_number"
    assert client.send(sms(to="+15005550004")).error_code == "opted_out"
    assert client.send(sms(to="+15005550009")).error_code == "invalid_number"


def test_fail_next_targets_one_recipient(server, client, sms):
    server.fail_next(to="+15550009999", kind="opted_out", times=2)
    assert client.send(sms()).status == "sent"
    assert client.send(sms(to="+15550009999")).error_code == "opted_out"
    assert client.send(sms(to="+15550009999")).error_code == "opted_out"
    assert client.send(sms(to="+15550009999")).status == "sent"


def test_timeout(server, make_client, sms):
    server.fail_next(kind="timeout")
    with make_client(server, timeout=0.3) as client:
        start = time.monotonic()
        result = client.send(sms())
        elapsed = time.monotonic() - start
    assert (result.status, result.error_code) == ("retry", "timeout")
    assert elapsed < 1.5


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused(sms):
    config = GatewayConfig(
        api_url=f"http://127.0.0.1:{_free_port()}", account_sid="AC1", auth_token="t", timeout=1
    )
    with twilio.TwilioClient(config) as client:
        result = client.send(sms())
    assert (result.status, result.error_code) == ("retry", "connection")


def test_connections_are_reused(server, client, sms):
    for _ in range(5):
        assert client.send(sms()).status == "sent"
    assert server.connections_count == 1


# --- sandbox ------------------------------------------------------------------------------


def test_sandbox_client_is_twilio_on_loopback():
    config = GatewayConfig(account_sid="AC1", auth_token="t")
    sandbox_client = sandbox.SandboxClient(config)
    assert isinstance(sandbox_client, twilio.TwilioClient)
    assert sandbox_client.api_url == "http://127.0.0.1:8070"
    assert twilio.TwilioClient(config).api_url == "https://api.twilio.com"


def test_sandbox_client_speaks_twilio(server, sms):
    config = GatewayConfig(
        api_url=server.url, account_sid="ACsandbox", auth_token="sandbox-token", sender=SENDER
    )
    with sandbox.SandboxClient(config) as client:
        result = client.send(sms())
    assert result.status == "sent"
    assert server.messages[0]["body"] == "Hello from the journey"


# --- lookup (crash recovery) --------------------------------------------------------------


def test_lookup_found(server, client, sms):
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    sent = client.send(sms())
    found = client.lookup(sms(), since)
    assert found.status == "sent"
    assert found.provider_message_id == sent.provider_message_id
    assert found.segments == 1


def test_lookup_after_read_timeout_finds_accepted_message(server, make_client, sms):
    server.fail_next(kind="timeout_accepted")
    since = datetime.now(UTC) - timedelta(seconds=5)
    with make_client(server, timeout=0.3) as client:
        assert client.send(sms()).error_code == "timeout"
        found = client.lookup(sms(), since)
    assert found.status == "sent"
    assert found.provider_message_id == server.messages[0]["sid"]


def test_lookup_not_found(server, client, sms):
    since = datetime.now(UTC) - timedelta(seconds=5)
    client.send(sms(body="another text"))
    client.send(sms(to="+15550009999"))
    result = client.lookup(sms(), since)
    assert (result.status, result.error_code) == ("retry", "not_found")


def test_lookup_ignores_messages_older_than_since(server, client, sms):
    client.send(sms())
    result = client.lookup(sms(), datetime.now(UTC) + timedelta(minutes=5))
    assert result.error_code == "not_found"


def test_lookup_pages(server, client, sms):
    since = datetime.now(UTC) - timedelta(seconds=5)
    first = client.send(sms(body="the oldest"))
    for index in range(5):
        client.send(sms(body=f"newer {index}"))
    client.lookup_page_size = 2
    found = client.lookup(sms(body="the oldest"), since)
    assert found.provider_message_id == first.provider_message_id
    # bounded paging: when the pages run out before the end, the answer is "cannot tell"
    client.lookup_max_pages = 2
    assert client.lookup(sms(body="the oldest"), since) is None


def test_lookup_http_trouble_is_none(server, make_client, sms):
    with make_client(server, auth_token="wrong") as client:
        assert client.lookup(sms(), datetime.now(UTC)) is None
    config = GatewayConfig(api_url=f"http://127.0.0.1:{_free_port()}", account_sid="AC1")
    with twilio.TwilioClient(config) as client:
        assert client.lookup(sms(), datetime.now(UTC)) is None


# --- webhooks -----------------------------------------------------------------------------


def test_status_callback_signature(server, client, recorder, make_client, sms):
    callback = f"{recorder.url}/sms_journey/status/{REF}"
    sent = client.send(sms(status_callback=callback))
    status_code, body = server.post_status(sent.provider_message_id, "delivered")
    assert status_code == 200
    assert body == twilio.EMPTY_TWIML
    [request] = recorder.received
    assert request["url"] == callback
    params, headers = request["form"], request["headers"]
    assert client.verify_signature(callback, params, headers, request["body"])
    # the same with the params only in the raw body
    assert client.verify_signature(callback, {}, headers, request["body"])
    # forged: a param changed, another URL, another token, no signature
    assert not client.verify_signature(callback, dict(params, MessageStatus="failed"), headers, b"")
    assert not client.verify_signature(callback + "x", params, headers, b"")
    with make_client(server, auth_token="other-token") as other:
        assert not other.verify_signature(callback, params, headers, b"")
    headers_without = {k: v for k, v in headers.items() if k.lower() != "x-twilio-signature"}
    assert not client.verify_signature(callback, params, headers_without, b"")
    # header names are case-insensitive
    lower = {k.lower(): v for k, v in headers.items()}
    assert client.verify_signature(callback, params, lower, b"")
    [report] = client.parse_status(params, request["body"])
    assert report.provider_message_id == sent.provider_message_id
    assert (report.status, report.provider_status) == ("delivered", "delivered")
    assert report.error_code is None


def test_signature_matches_independent_implementations():
    params = {"MessageSid": "SM1", "MessageStatus": "sent", "To": "+15557654321"}
    url = "https://odoo.example.com/sms_journey/status/abc"
    ours = twilio.compute_signature("token", url, params)
    assert ours == loopback.twilio_signature("token", url, params)
    client = twilio.TwilioClient(GatewayConfig(auth_token="token"))
    headers = {"X-Twilio-Signature": ours}
    assert client.verify_signature(url, params, headers, b"")
    # a proxy may add or strip the default port
    assert client.verify_signature(
        "https://odoo.example.com:443/sms_journey/status/abc", params, headers, b""
    )
    signed_with_port = twilio.compute_signature(
        "token", "https://odoo.example.com:443/sms_journey/status/abc", params
    )
    assert client.verify_signature(url, params, {"X-Twilio-Signature": signed_with_port}, b"")
    # no auth token configured → nothing verifies
    assert not twilio.TwilioClient(GatewayConfig()).verify_signature(url, params, headers, b"")


def test_parse_status_failures():
    client = twilio.TwilioClient(GatewayConfig(auth_token="t"))
    cases = {
        "30003": "not_delivered",
        "30004": "opted_out",
        "30005": "invalid_number",
        "30006": "invalid_number",
        "30007": "rejected",
        "30008": "unknown",
        "21610": "opted_out",
        "99999": "unknown",
    }
    for code, expected in cases.items():
        params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": code}
        [report] = client.parse_status(params, b"")
        assert (report.status, report.error_code) == ("failed", expected), code
        assert code in report.error_message
    for raw, expected in [
        ("queued", "sent"),
        ("sending", "sent"),
        ("sent", "sent"),
        ("accepted", "sent"),
        ("read", "delivered"),
        ("failed", "failed"),
    ]:
        [report] = client.parse_status({"MessageSid": "SM1", "MessageStatus": raw}, b"")
        assert report.status == expected
        assert report.provider_status == raw
    # Odoo's sms_twilio reads SmsStatus: accept it as a fallback
    [report] = client.parse_status({"SmsSid": "SM2", "SmsStatus": "delivered"}, b"")
    assert (report.provider_message_id, report.status) == ("SM2", "delivered")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"MessageStatus": "delivered"},
        {"MessageSid": "SM1"},
        {"MessageSid": "SM1", "MessageStatus": "teleported"},
    ],
)
def test_parse_status_malformed(params):
    client = twilio.TwilioClient(GatewayConfig(auth_token="t"))
    with pytest.raises(base.PayloadError):
        client.parse_status(params, b"")


def test_inbound(server, client, recorder):
    url = f"{recorder.url}/sms_journey/inbound"
    status_code, _body = server.post_inbound(url, TO, SENDER, "STOP please", message_id="SM9")
    assert status_code == 200
    [request] = recorder.received
    assert client.verify_signature(url, request["form"], request["headers"], request["body"])
    forged = dict(request["form"], Body="START")
    assert not client.verify_signature(url, forged, request["headers"], request["body"])
    inbound = client.parse_inbound(request["form"], request["body"])
    assert inbound == base.InboundSms(
        provider_message_id="SM9", sender=TO, recipient=SENDER, body="STOP please"
    )


@pytest.mark.parametrize(
    "params", [{}, {"From": TO, "To": SENDER, "Body": "x"}, {"MessageSid": "SM1", "To": SENDER}]
)
def test_parse_inbound_malformed(params):
    client = twilio.TwilioClient(GatewayConfig(auth_token="t"))
    with pytest.raises(base.PayloadError):
        client.parse_inbound(params, b"")


def test_webhook_response():
    client = twilio.TwilioClient(GatewayConfig())
    assert client.webhook_response() == (
        200,
        "text/xml",
        b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
    )


def test_auto_report_posts_signed_sent_then_delivered(recorder, make_client, sms):
    with loopback.TwilioFormatServer(auto_report=True, report_delay=0.05) as server:
        client = make_client(server)
        callback = f"{recorder.url}/status/{REF}"
        server.fail_delivery("+15550009999")
        ok = client.send(sms(status_callback=callback))
        ko = client.send(sms(to="+15550009999", status_callback=callback + "-ko"))
        requests_ = recorder.wait_for(4, timeout=5)
        client.close()
    assert len(requests_) == 4
    by_sid = {}
    for request in requests_:
        url = request["url"]
        assert client.verify_signature(url, request["form"], request["headers"], b"")
        [report] = client.parse_status(request["form"], b"")
        by_sid.setdefault(report.provider_message_id, []).append(report)
    assert [r.status for r in by_sid[ok.provider_message_id]] == ["sent", "delivered"]
    assert [(r.status, r.error_code) for r in by_sid[ko.provider_message_id]] == [
        ("sent", None),
        ("failed", "not_delivered"),
    ]


def test_status_callback_url_with_query(server, client, recorder, sms):
    callback = f"{recorder.url}/sms_journey/1/status?ref={REF}"
    sent = client.send(sms(status_callback=callback))
    server.post_status(sent.provider_message_id, "sent")
    [request] = recorder.received
    assert request["url"] == callback
    assert client.verify_signature(callback, request["form"], request["headers"], b"")
    # the query string is part of the signed URL
    other = callback.replace(REF, "f" * 32)
    assert not client.verify_signature(other, request["form"], request["headers"], b"")
