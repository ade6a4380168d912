"""Vonage client against the Vonage-format loopback server (real HTTP, no mocks)."""

import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_journey.tools.gateways import base, loopback, vonage
from sms_journey.tools.gateways.base import GatewayConfig, OutgoingSms

GATEWAY = "vonage"  # conftest's server, client, recorder, make_client, sms fixtures
TO = "+447700900001"
REF = "0123456789abcdef0123456789abcdef"
CALLBACK = "https://odoo.example.com/sms_journey/status/vonage"
SMS = OutgoingSms(REF, TO, "Your order has shipped", CALLBACK)  # what the sms fixture varies


# --- sending ------------------------------------------------------------------------------


def test_send_happy_path(server, client, sms):
    result = client.send(sms())
    assert result.status == "sent"
    assert result.segments == 1
    assert result.price == pytest.approx(0.0333)
    [received] = server.messages
    assert result.provider_message_id == received["message-id"]
    assert received["to"] == "447700900001"  # Vonage wants no '+'
    assert received["from"] == "Acme"
    assert received["body"] == "Your order has shipped"
    assert received["type"] == "text"
    assert received["client_ref"] == REF
    assert received["callback"] == CALLBACK
    assert received["status_report_req"] == "1"


def test_numeric_sender_loses_plus(server, make_client, sms):
    with make_client(server, sender="+15550001111") as client:
        assert client.send(sms(status_callback=None)).status == "sent"
    [received] = server.messages
    assert received["from"] == "15550001111"
    assert received["callback"] is None


def test_unicode_type(server, client, sms):
    assert client.send(sms(body="Привет, заказ отправлен")).status == "sent"
    assert client.send(sms(body="Grüße {Ä} kostet 5€ [ok]")).status == "sent"  # all GSM-7
    first, second = server.messages
    assert first["type"] == "unicode"
    assert second["type"] == "text"


def test_multipart(server, client, sms):
    result = client.send(sms(body="a" * 200))
    assert result.status == "sent"
    assert result.segments == 2
    assert result.price == pytest.approx(0.0666)
    [received] = server.messages
    assert len(received["message_ids"]) == 2
    assert result.provider_message_id == received["message_ids"][0]
    unicode_result = client.send(sms(body="ж" * 140))
    assert unicode_result.segments == 3


def test_partial_multipart_is_not_retried(client, sms):
    parts = [
        {"status": "0", "message-id": "A", "message-price": "0.03"},
        {"status": "1", "error-text": "Throttled"},
    ]
    result = client._result(sms(), parts)
    assert (result.status, result.error_code) == ("failed", "rate_limited")
    assert result.provider_message_id == "A"
    assert "1 of 2 parts" in result.error_message


@pytest.mark.parametrize(
    "kind, status, error_code",
    [
        ("invalid_number", "failed", "invalid_number"),
        ("opted_out", "failed", "opted_out"),
        ("auth", "failed", "auth"),
        ("credit", "failed", "credit"),
        ("rate_limited", "retry", "rate_limited"),
        ("server_error", "retry", "server_error"),
        ("unavailable", "retry", "server_error"),
    ],
)
def test_provider_errors(server, client, kind, status, error_code, sms):
    server.fail_next(kind=kind)
    result = client.send(sms())
    assert (result.status, result.error_code) == (status, error_code)
    assert result.error_message
    assert server.messages == []
    assert client.send(sms()).status == "sent"


def test_wrong_secret(server, make_client, sms):
    with make_client(server, auth_token="wrong") as client:
        result = client.send(sms())
    assert (result.status, result.error_code) == ("failed", "auth")
    assert "status 4" in result.error_message


def test_invalid_number_and_missing_sender(server, client, make_client, sms):
    result = client.send(sms(to="+12"))
    assert (result.status, result.error_code) == ("failed", "invalid_number")
    with make_client(server, sender=None) as no_sender:
        result = no_sender.send(sms())
    assert (result.status, result.error_code) == ("failed", "rejected")
    assert "status 2" in result.error_message


def test_timeout(server, make_client, sms):
    server.fail_next(kind="timeout")
    with make_client(server, timeout=0.3) as client:
        start = time.monotonic()
        result = client.send(sms())
    assert (result.status, result.error_code) == ("retry", "timeout")
    assert time.monotonic() - start < 1.5


def test_lookup_cannot_tell(client, sms):
    assert client.lookup(sms(), datetime.now(UTC)) is None


# --- signatures ---------------------------------------------------------------------------


def test_md5hash_known_vector():
    # the vector of Vonage's own client library tests
    params = {"a": "1", "b": "2", "timestamp": "1461605396"}
    assert vonage.compute_signature("secret", params) == "6af838ef94998832dbfc29020b564830"
    assert loopback.vonage_signature("secret", params) == "6af838ef94998832dbfc29020b564830"


def test_signature_base_escapes_values():
    assert vonage.signature_base({"b": "x=1&y", "a": "2", "sig": "ignored"}) == "&a=2&b=x_1_y"


def signed_client(method=None, secret="sigsecret", now=1_700_000_000):
    config = GatewayConfig(signature_secret=secret, signature_method=method)
    return vonage.VonageClient(config, clock=lambda: now)


@pytest.mark.parametrize("method", vonage.SIGNATURE_METHODS)
def test_verify_signature_methods(method):
    now = 1_700_000_000
    params = {"messageId": "X1", "status": "delivered", "timestamp": str(now), "nonce": "n1"}
    params["sig"] = loopback.vonage_signature("sigsecret", params, method)
    client = signed_client(method)
    assert client.verify_signature("", params, {}, b"")
    assert client.verify_signature("", dict(params, sig=params["sig"].upper()), {}, b"")
    assert not client.verify_signature("", dict(params, status="failed"), {}, b"")
    assert not signed_client(method, secret="other").verify_signature("", params, {}, b"")
    # only the configured method: a forger cannot fall back on a weaker one
    for other in set(vonage.SIGNATURE_METHODS) - {method}:
        assert not signed_client(other).verify_signature("", params, {}, b"")


def test_default_method_is_sha256_and_legacy_md5_is_refused():
    now = 1_700_000_000
    params = {"messageId": "X1", "status": "delivered", "timestamp": str(now)}
    client = signed_client()  # no method configured
    sha256 = dict(params, sig=vonage.compute_signature("sigsecret", params, "sha256"))
    assert client.verify_signature("", sha256, {}, b"")
    for legacy in ("md5hash", "md5"):
        forged = dict(params, sig=vonage.compute_signature("sigsecret", params, legacy))
        assert not client.verify_signature("", forged, {}, b"")
    # a method we do not know verifies nothing (not: everything)
    for unknown in ("sha384", "MD5HASH", "", "none"):
        assert not signed_client(unknown or "x").verify_signature("", sha256, {}, b"")


@settings(max_examples=200, deadline=None)
@given(
    params=st.dictionaries(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
            lambda key: key not in ("sig", "timestamp")
        ),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
        max_size=6,
    ),
    signed_with=st.sampled_from(vonage.SIGNATURE_METHODS),
    configured=st.sampled_from(vonage.SIGNATURE_METHODS),
)
def test_a_signature_verifies_only_with_the_configured_method(params, signed_with, configured):
    now = 1_700_000_000
    params = dict(params, timestamp=str(now))
    params["sig"] = loopback.vonage_signature("sigsecret", params, signed_with)
    verified = signed_client(configured).verify_signature("", params, {}, b"")
    assert verified == (signed_with == configured)


def test_verify_signature_rejects_missing_and_stale():
    now = 1_700_000_000
    params = {"messageId": "X1", "status": "delivered", "timestamp": str(now)}
    params["sig"] = vonage.compute_signature("sigsecret", params, "sha256")
    config = GatewayConfig(signature_secret="sigsecret")
    assert vonage.VonageClient(config, clock=lambda: now + 299).verify_signature(
        "", params, {}, b""
    )
    assert not vonage.VonageClient(config, clock=lambda: now + 301).verify_signature(
        "", params, {}, b""
    )
    assert not vonage.VonageClient(config, clock=lambda: now - 301).verify_signature(
        "", params, {}, b""
    )
    fresh = vonage.VonageClient(config, clock=lambda: now)
    assert not fresh.verify_signature("", {k: v for k, v in params.items() if k != "sig"}, {}, b"")
    no_timestamp = {"messageId": "X1", "status": "delivered"}
    no_timestamp["sig"] = vonage.compute_signature("sigsecret", no_timestamp, "sha256")
    assert not fresh.verify_signature("", no_timestamp, {}, b"")
    no_secret = vonage.VonageClient(GatewayConfig(), clock=lambda: now)
    assert not no_secret.verify_signature("", params, {}, b"")


@pytest.mark.parametrize(
    "dlr_method, signature_method",
    [("POST", "md5hash"), ("GET", "sha256"), ("JSON", "sha512")],
)
def test_delivery_receipt_end_to_end(recorder, dlr_method, signature_method, make_client, sms):
    with (
        loopback.VonageFormatServer(
            dlr_method=dlr_method, signature_method=signature_method
        ) as server,
        make_client(server, signature_method=signature_method) as client,
    ):
        sent = client.send(sms(status_callback=f"{recorder.url}/sms_journey/status"))
        status_code, _body = server.post_status(sent.provider_message_id, "delivered")
        assert status_code == 204
        [request] = recorder.received
        if dlr_method == "JSON":
            params, body = {}, request["body"]
            assert json.loads(body)["messageId"] == sent.provider_message_id
        elif dlr_method == "GET":
            params, body = request["query"], b""
        else:
            params, body = request["form"], request["body"]
        assert request["method"] == ("GET" if dlr_method == "GET" else "POST")
        assert client.verify_signature(request["url"], params, request["headers"], body)
        [report] = client.parse_status(params, body)
        assert report.provider_message_id == sent.provider_message_id
        assert report.reference == REF
        assert (report.status, report.provider_status) == ("delivered", "delivered")
        tampered = dict(params or json.loads(body), status="failed")
        assert not client.verify_signature(request["url"], tampered, {}, b"")


def test_parse_status_mapping():
    client = vonage.VonageClient(GatewayConfig())
    base_params = {"messageId": "M1", "client-ref": REF}
    cases = [
        ({"status": "delivered", "err-code": "0"}, "delivered", None),
        ({"status": "accepted"}, "sent", None),
        ({"status": "buffered"}, "sent", None),
        ({"status": "unknown"}, "sent", None),
        ({"status": "expired", "err-code": "0"}, "failed", "expired"),
        ({"status": "failed", "err-code": "3"}, "failed", "invalid_number"),
        ({"status": "failed", "err-code": "4"}, "failed", "opted_out"),
        ({"status": "rejected", "err-code": "9"}, "failed", "opted_out"),
        ({"status": "failed", "err-code": "6"}, "failed", "rejected"),
        ({"status": "failed", "err-code": "2"}, "failed", "not_delivered"),
        ({"status": "failed", "err-code": "99"}, "failed", "unknown"),
        ({"status": "failed"}, "failed", "unknown"),
    ]
    for extra, status, error_code in cases:
        [report] = client.parse_status(dict(base_params, **extra), b"")
        assert (report.status, report.error_code) == (status, error_code), extra
        assert report.reference == REF
        if status == "failed":
            assert report.error_message


@pytest.mark.parametrize(
    "params, body",
    [
        ({}, b""),
        ({"status": "delivered"}, b""),
        ({"messageId": "M1"}, b""),
        ({"messageId": "M1", "status": "teleported"}, b""),
        ({}, b"{not json"),
        ({}, b'["a list"]'),
    ],
)
def test_parse_status_malformed(params, body):
    with pytest.raises(base.PayloadError):
        vonage.VonageClient(GatewayConfig()).parse_status(params, body)


def test_inbound_end_to_end(server, client, recorder):
    url = f"{recorder.url}/sms_journey/inbound"
    server.post_inbound(url, TO, "+15550001111", "STOP all of it", message_id="IN1")
    [request] = recorder.received
    assert client.verify_signature(url, request["form"], request["headers"], request["body"])
    inbound = client.parse_inbound(request["form"], request["body"])
    assert inbound == base.InboundSms(
        provider_message_id="IN1", sender=TO, recipient="+15550001111", body="STOP all of it"
    )
    assert request["form"]["keyword"] == "STOP"


@pytest.mark.parametrize(
    "params",
    [{}, {"msisdn": "447700900001", "to": "15550001111"}, {"messageId": "X", "to": "1555"}],
)
def test_parse_inbound_malformed(params):
    with pytest.raises(base.PayloadError):
        vonage.VonageClient(GatewayConfig()).parse_inbound(params, b"")


def test_webhook_response():
    assert vonage.VonageClient(GatewayConfig()).webhook_response() == (204, "text/plain", b"")


def test_auto_report_per_part(recorder, make_client, sms):
    with loopback.VonageFormatServer(auto_report=True, report_delay=0.05) as server:
        with make_client(server) as client:
            sent = client.send(sms(body="b" * 200, status_callback=f"{recorder.url}/dlr"))
            requests_ = recorder.wait_for(4, timeout=5)
            reports = []
            for request in requests_:
                assert client.verify_signature(
                    request["url"], request["form"], request["headers"], b""
                )
                reports.extend(client.parse_status(request["form"], b""))
    ids = server.messages[0]["message_ids"]
    assert sent.provider_message_id == ids[0]
    assert sorted((r.provider_message_id, r.status) for r in reports) == sorted(
        [(i, s) for i in ids for s in ("sent", "delivered")]
    )
    assert {r.reference for r in reports} == {REF}


@pytest.mark.parametrize("dlr_method", ["GET", "POST"])
def test_callback_url_with_own_query(recorder, dlr_method, make_client, sms):
    """Our callback carries ``?ref=…``: Vonage does not sign it, even when a GET mixes it
    with the receipt's fields."""
    with (
        loopback.VonageFormatServer(dlr_method=dlr_method) as server,
        make_client(server) as client,
    ):
        callback = f"{recorder.url}/sms_journey/1/status?ref={REF}"
        sent = client.send(sms(status_callback=callback))
        server.post_status(sent.provider_message_id, "delivered")
        [request] = recorder.received
        params = request["query"] if dlr_method == "GET" else request["form"]
        assert request["query"]["ref"] == REF
        assert client.verify_signature(request["url"], params, request["headers"], b"")
        forged = dict(params, status="failed")
        assert not client.verify_signature(request["url"], forged, request["headers"], b"")


def test_server_accepts_gateway_config_names(make_client, sms):
    with loopback.VonageFormatServer(account_sid="ACtest", auth_token="tok") as server:
        assert (server.api_key, server.api_secret) == ("ACtest", "tok")
        assert (server.account_sid, server.auth_token) == ("ACtest", "tok")
        with make_client(server) as client:
            assert client.send(sms()).status == "sent"
