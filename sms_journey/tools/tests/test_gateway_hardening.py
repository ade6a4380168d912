"""Hostile input and real provider semantics for the Twilio and Vonage clients:
signatures as the providers' own libraries check them, every published status, any
bytes parsed without anything but PayloadError, queued messages found after a crash,
MMS media and long-SMS parts."""

import base64
import contextlib
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.gateways import base, loopback, twilio, vonage
from sms_journey.tools.gateways.base import GatewayConfig, OutgoingSms, PayloadError

TOKEN = "twilio-token"
SECRET = "vonage-sigsecret"
NOW = 1_700_000_000


@contextlib.contextmanager
def twilio_on_loopback(**server_options):
    """A Twilio-format loopback provider and a Twilio client of its account."""
    with loopback.TwilioFormatServer(**server_options) as server:
        config = GatewayConfig(
            api_url=server.url,
            account_sid=server.account_sid,
            auth_token=server.auth_token,
            sender="+15550001111",
        )
        with twilio.TwilioClient(config) as client:
            yield server, client


def twilio_client(**values):
    return twilio.TwilioClient(GatewayConfig(auth_token=TOKEN, **values))


def vonage_client(clock=lambda: NOW):
    return vonage.VonageClient(GatewayConfig(signature_secret=SECRET), clock=clock)


def reference_twilio_signature(url, pairs):
    """twilio-python's RequestValidator.compute_signature, written out for a list of
    (name, value) pairs (names sorted, each name's values de-duplicated and sorted)."""
    names = sorted({name for name, _value in pairs})
    data = url
    for name in names:
        for value in sorted({v for n, v in pairs if n == name}):
            data += name + value
    digest = hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class MultiDict(dict):
    """The part of werkzeug's MultiDict the client uses: ``getlist``."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs
        for name, value in pairs:
            self.setdefault(name, value)

    def getlist(self, name):
        return [v for n, v in self.pairs if n == name]


# --- Twilio signatures ----------------------------------------------------------------------


def test_twilio_repeated_parameters_are_signed_as_the_library_does():
    pairs = [("To", "+1555"), ("MediaUrl", "b"), ("MediaUrl", "a"), ("MediaUrl", "b")]
    url = "https://odoo.example.com/sms_journey/1/inbound"
    signature = reference_twilio_signature(url, pairs)
    assert twilio.compute_signature(TOKEN, url, MultiDict(pairs)) == signature
    assert twilio_client().verify_signature(
        url, MultiDict(pairs), {"X-Twilio-Signature": signature}, b""
    )


@pytest.mark.parametrize(
    "signed_url, called_url",
    [
        ("https://odoo.example.com/hook?ref=1", "https://odoo.example.com:443/hook?ref=1"),
        ("https://odoo.example.com:443/hook?ref=1", "https://odoo.example.com/hook?ref=1"),
        ("http://odoo.example.com/hook", "http://odoo.example.com:80/hook"),
        ("http://odoo.example.com:8069/hook", "http://odoo.example.com:8069/hook"),
        # the library strips any port, a non-default one too
        ("https://odoo.example.com/hook", "https://odoo.example.com:8443/hook"),
    ],
)
def test_twilio_port_variants(signed_url, called_url):
    params = {"MessageSid": "SM1", "MessageStatus": "sent"}
    signature = twilio.compute_signature(TOKEN, signed_url, params)
    assert twilio_client().verify_signature(
        called_url, params, {"X-Twilio-Signature": signature}, b""
    )


def test_twilio_get_signs_the_url_alone():
    url = "https://odoo.example.com/hook?MessageSid=SM1&MessageStatus=sent"
    signature = twilio.compute_signature(TOKEN, url, {})
    params = {"MessageSid": "SM1", "MessageStatus": "sent"}
    headers = {"X-Twilio-Signature": signature}
    assert twilio_client().verify_signature(url, params, headers, b"", method="GET")
    # the same request taken as a POST would sign its form too
    assert not twilio_client().verify_signature(url, params, headers, b"", method="POST")


def test_twilio_json_body_sha256():
    body = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered"}).encode()
    url = "https://odoo.example.com/hook?bodySHA256=" + hashlib.sha256(body).hexdigest()
    headers = {"X-Twilio-Signature": twilio.compute_signature(TOKEN, url, {})}
    client = twilio_client()
    assert client.verify_signature(url, {}, headers, body)
    assert not client.verify_signature(url, {}, headers, body + b" ")
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert not client.verify_signature(forged, {}, headers, body)


@pytest.mark.parametrize("signature", ["", "é" * 28, "\x00", "a" * 10_000, None])
def test_twilio_hostile_signature_header_is_false_not_an_error(signature):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    assert not twilio_client().verify_signature("https://x.example/h", {"a": "é"}, headers, b"")


# --- Twilio statuses, media ------------------------------------------------------------------

TWILIO_STATUSES = (
    "accepted scheduled canceled queued sending sent failed delivered undelivered receiving "
    "received read partially_delivered"
).split()


@pytest.mark.parametrize("status", TWILIO_STATUSES)
def test_every_published_twilio_status_is_handled(status):
    reports = twilio_client().parse_status({"MessageSid": "SM1", "MessageStatus": status}, b"")
    if status in ("receiving", "received"):
        assert reports == []  # about an inbound message: acknowledged, nothing to record
    else:
        assert reports[0].status in ("sent", "delivered", "failed")
        assert reports[0].provider_status == status


def test_twilio_mms_media_are_kept_as_links():
    form = {
        "MessageSid": "MM1",
        "From": "+15551230000",
        "To": "+15559870000",
        "Body": "look",
        "NumMedia": "3",
        "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "javascript:alert(1)",
        "MediaContentType1": "text/html",
        "MediaUrl2": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
    }
    inbound = twilio_client().parse_inbound(form, b"")
    assert [(m.url[-3:], m.content_type) for m in inbound.media] == [
        ("ME0", "image/jpeg"),
        ("ME2", None),
    ]
    assert twilio_client().parse_inbound(dict(form, NumMedia="oops"), b"").media == ()


# --- Twilio lookup of queued messages ---------------------------------------------------------


def test_lookup_finds_a_message_twilio_holds_queued():
    """Beyond the sender's MPS Twilio holds messages queued, without DateSent: a lookup
    filtered on DateSent misses them and the crash recovery would send them again."""
    with twilio_on_loopback(queue_hold=3600) as (server, client):
        since = datetime.now(UTC) - timedelta(seconds=5)
        sms = OutgoingSms(reference="r" * 32, to="+15557654321", body="Held in the queue")
        sent = client.send(sms)
        assert server.messages[0]["date_sent"] is None
        assert server.messages[0]["status"] == "queued"
        found = client.lookup(sms, since)
        assert (found.status, found.provider_message_id) == ("sent", sent.provider_message_id)
        other = OutgoingSms(reference="s" * 32, to="+15557654321", body="never sent")
        assert client.lookup(other, since).error_code == "not_found"
        # what the DateSent filter (the former lookup) returned: nothing
        day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
        _status, _headers, answer = server._list(
            f"/2010-04-01/Accounts/{server.account_sid}/Messages.json",
            {"To": "+15557654321", "DateSent>": day},
        )
        assert json.loads(answer)["messages"] == []


def test_lookup_stops_at_messages_sent_before_since():
    with twilio_on_loopback() as (server, client):
        for index in range(6):
            client.send(OutgoingSms("r" * 32, "+15557654321", f"old {index}"))
        client.lookup_page_size = 2
        before = server.requests_count
        later = datetime.now(UTC) + timedelta(minutes=5)
        result = client.lookup(OutgoingSms("r" * 32, "+15557654321", "new"), later)
        assert result.error_code == "not_found"
        assert server.requests_count - before == 1  # one page was enough to tell


# --- Vonage -------------------------------------------------------------------------------------


def jwt(claims, secret=SECRET, alg="HS256"):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    head = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}"
    signature = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return f"{head}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_vonage_messages_api_jwt():
    body = json.dumps({"message_uuid": "u1", "status": "delivered"}).encode()
    claims = {
        "iat": NOW,
        "jti": "j1",
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
    }
    client = vonage_client()
    assert client.verify_signature("", {}, {"Authorization": f"Bearer {jwt(claims)}"}, body)
    assert not client.verify_signature("", {}, {"Authorization": f"Bearer {jwt(claims)}"}, b"{}")
    wrong = jwt(claims, secret="other")
    assert not client.verify_signature("", {}, {"Authorization": f"Bearer {wrong}"}, body)
    none_alg = jwt(claims, alg="none")
    assert not client.verify_signature("", {}, {"Authorization": f"Bearer {none_alg}"}, body)
    expired = jwt(dict(claims, exp=NOW - 1))
    assert not client.verify_signature("", {}, {"Authorization": f"Bearer {expired}"}, body)
    for garbage in ("", "a.b", "a.b.c", "é.é.é", "\x00"):
        assert not client.verify_signature("", {}, {"Authorization": f"Bearer {garbage}"}, body)


@pytest.mark.parametrize("timestamp", ["nan", "inf", "-inf", "", "1e999"])
def test_vonage_timestamp_must_be_a_finite_recent_number(timestamp):
    params = {"messageId": "X1", "status": "delivered", "timestamp": timestamp}
    params["sig"] = vonage.compute_signature(SECRET, params, vonage.DEFAULT_SIGNATURE_METHOD)
    assert not vonage_client().verify_signature("", params, {}, b"")


@pytest.mark.parametrize(
    "status", "delivered expired failed rejected accepted buffered unknown".split()
)
def test_every_published_vonage_dlr_status_is_handled(status):
    [report] = vonage_client().parse_status({"messageId": "X1", "status": status}, b"")
    assert report.status in ("sent", "delivered", "failed")


def test_vonage_concatenated_part():
    params = {
        "msisdn": "447700900001",
        "to": "447700900000",
        "messageId": "P2",
        "text": "second half",
        "concat": "true",
        "concat-ref": "A1",
        "concat-total": "3",
        "concat-part": "2",
    }
    inbound = vonage_client().parse_inbound(params, b"")
    assert (inbound.part.reference, inbound.part.number, inbound.part.total) == ("A1", 2, 3)
    assert vonage_client().parse_inbound(dict(params, concat="false"), b"").part is None
    for bad in (
        {"concat-part": "4"},
        {"concat-part": "0"},
        {"concat-total": "x"},
        {"concat-ref": ""},
    ):
        with pytest.raises(PayloadError):
            vonage_client().parse_inbound(dict(params, **bad), b"")


def test_vonage_deep_json_is_a_payload_error_not_a_crash():
    body = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(PayloadError):
        vonage_client().parse_inbound({}, body)
    assert not vonage_client().verify_signature("", {}, {}, body)


# --- any bytes ------------------------------------------------------------------------------


def _assert_clean(inbound):
    for text in (inbound.provider_message_id, inbound.sender, inbound.recipient, inbound.body):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: storable


hostile_text = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF))
params_strategy = st.dictionaries(
    st.sampled_from(
        [
            "MessageSid",
            "From",
            "To",
            "Body",
            "MessageStatus",
            "ErrorCode",
            "NumMedia",
            "MediaUrl0",
            "msisdn",
            "to",
            "messageId",
            "text",
            "status",
            "err-code",
            "concat",
            "concat-ref",
            "concat-total",
            "concat-part",
            "timestamp",
            "sig",
        ]
    )
    | hostile_text,
    hostile_text,
)


@given(params=params_strategy, body=st.binary(max_size=2000))
def test_any_input_raises_only_payload_errors(params, body):
    clients = (twilio_client(), vonage_client())
    for client in clients:
        for parse in (client.parse_status, client.parse_inbound):
            try:
                result = parse(params, body)
            except PayloadError:
                continue
            if parse == client.parse_inbound:
                _assert_clean(result)
        for method in ("POST", "GET"):
            headers = {"X-Twilio-Signature": params.get("Body", ""), "Authorization": "Bearer x"}
            assert client.verify_signature(
                "https://x.example/h?" + params.get("To", ""), params, headers, body, method
            ) in (True, False)


@given(st.text())
def test_clean_text_is_storable(text):
    cleaned = base.clean_text(text)
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")
    assert len(cleaned) == len(text)


def test_nul_and_invalid_utf8_are_kept_visibly():
    form = {"MessageSid": "SM1", "From": "+1555", "To": "+1666", "Body": "hi\x00there\ud800"}
    assert twilio_client().parse_inbound(form, b"").body == "hi\ufffdthere\ufffd"
    body = b"msisdn=1555&to=1666&messageId=X&text=caf\xe9\x00"
    assert vonage_client().parse_inbound({}, body).body == "caf\ufffd\ufffd"


def test_loopback_held_messages_leave_the_queue():
    with twilio_on_loopback(queue_hold=0.2) as (server, client):
        sent = client.send(OutgoingSms("r" * 32, "+15557654321", "soon sent"))
        time.sleep(0.3)
        found = client.lookup(
            OutgoingSms("r" * 32, "+15557654321", "soon sent"),
            datetime.now(UTC) - timedelta(seconds=5),
        )
        assert found.provider_message_id == sent.provider_message_id
        assert server.get_message(sent.provider_message_id)["date_sent"] is not None


# --- provider limits ------------------------------------------------------------------------


def test_callback_url_limits_are_honoured():
    short = "https://odoo.example.com/sms_journey/1/status?ref=" + "0" * 32
    long = "https://" + "a" * 60 + ".example.com/sms_journey/1/status?ref=" + "0" * 32
    assert vonage.VonageClient.callback_problem(short) is None
    assert "100 characters" in vonage.VonageClient.callback_problem(long)
    assert twilio.TwilioClient.callback_problem(long) is None
    assert "underscore" in twilio.TwilioClient.callback_problem("https://my_odoo.example.com/x")
    assert "4000" in twilio.TwilioClient.callback_problem("https://x.example/" + "a" * 4000)
    config = GatewayConfig(account_sid="k", auth_token="s", sender="Acme")
    sms = OutgoingSms("r" * 32, "+447700900001", "hi", status_callback=long)
    assert "callback" not in vonage.VonageClient(config)._payload(sms)
    sms = OutgoingSms("r" * 32, "+447700900001", "hi", status_callback=short)
    assert vonage.VonageClient(config)._payload(sms)["callback"] == short
    sms = OutgoingSms("r" * 32, "+447700900001", "hi", status_callback="https://a_b.example/x")
    assert "StatusCallback" not in twilio.TwilioClient(config)._payload(sms)
