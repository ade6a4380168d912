"""The loopback servers themselves, and the sandbox_server script."""

import http.client
import os
import re
import subprocess
import sys
import time
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from sms_journey.tools.gateways import loopback, twilio
from sms_journey.tools.gateways.base import GatewayConfig, OutgoingSms

GATEWAYS_DIR = Path(loopback.__file__).resolve().parent.parent


def basic(user, password):
    return {"Authorization": "Basic " + b64encode(f"{user}:{password}".encode()).decode()}


def messages_path(sid="ACsandbox"):
    return f"/2010-04-01/Accounts/{sid}/Messages.json"


def twilio_post(server, form, auth=None, sid="ACsandbox"):
    return requests.post(
        server.url + messages_path(sid),
        data=form,
        auth=auth or (server.account_sid, server.auth_token),
        timeout=5,
    )


FORM = {"To": "+15557654321", "From": "+15550001111", "Body": "hi"}
VONAGE_FORM = {
    "api_key": "key",
    "api_secret": "secret",
    "from": "Acme",
    "to": "447700900001",
    "text": "hi",
}


def test_start_stop_and_url():
    server = loopback.TwilioFormatServer().start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert twilio_post(server, FORM).status_code == 201
    server.stop()
    with pytest.raises(requests.ConnectionError):
        twilio_post(server, FORM)


def test_keep_alive_on_one_connection():
    with loopback.TwilioFormatServer() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **basic("ACsandbox", "sandbox-token"),
        }
        for _ in range(3):
            conn.request(
                "POST", messages_path(), body="To=%2B15557654321&From=x&Body=hi", headers=headers
            )
            response = conn.getresponse()
            assert response.status == 201
            assert response.getheader("Content-Length")
            response.read()
        conn.close()
        assert server.connections_count == 1
        assert server.requests_count == 3


def test_many_concurrent_connections():
    with loopback.TwilioFormatServer(delay=0.2) as server:
        start = time.monotonic()
        with ThreadPoolExecutor(40) as pool:
            codes = list(pool.map(lambda _i: twilio_post(server, FORM).status_code, range(40)))
        elapsed = time.monotonic() - start
    assert codes == [201] * 40
    assert elapsed < 1.5


def test_twilio_auth_enforced():
    with loopback.TwilioFormatServer() as server:
        response = requests.post(server.url + messages_path(), data=FORM, timeout=5)
        assert response.status_code == 401
        assert response.json()["code"] == 20003
        assert "Basic" in response.headers["WWW-Authenticate"]
        assert twilio_post(server, FORM, auth=("ACsandbox", "nope")).status_code == 401
        assert twilio_post(server, FORM, sid="ACother").status_code == 401
        response = requests.get(server.url + "/nowhere", timeout=5)
        assert (response.status_code, response.json()["code"]) == (404, 20404)
        assert server.messages == []


def test_twilio_validation_errors():
    with loopback.TwilioFormatServer() as server:
        cases = [
            ({"From": "+1555", "Body": "x"}, 21604),
            ({"To": "0612", "From": "+1555", "Body": "x"}, 21211),
            ({"To": "+15557654321", "Body": "x"}, 21603),
            ({"To": "+15557654321", "From": "+1555"}, 21602),
            ({"To": "+15557654321", "From": "+1555", "Body": "x" * 1601}, 21617),
        ]
        for form, code in cases:
            response = twilio_post(server, form)
            assert (response.status_code, response.json()["code"]) == (400, code)
            assert response.json()["more_info"].endswith(str(code))


def test_twilio_list_filters_and_pages():
    with loopback.TwilioFormatServer() as server:
        for index in range(5):
            assert twilio_post(server, dict(FORM, Body=f"b{index}")).status_code == 201
        twilio_post(server, dict(FORM, To="+15550009999"))
        auth = (server.account_sid, server.auth_token)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        url = server.url + messages_path()
        params = {"To": "+15557654321", "DateSent>": today, "PageSize": 2}
        bodies = []
        while url:
            page = requests.get(url, params=params, auth=auth, timeout=5).json()
            bodies += [m["body"] for m in page["messages"]]
            url = page["next_page_uri"] and server.url + page["next_page_uri"]
            params = None
        assert bodies == ["b4", "b3", "b2", "b1", "b0"]  # newest first
        future = requests.get(
            server.url + messages_path(), params={"DateSent>": "2999-01-01"}, auth=auth, timeout=5
        ).json()
        assert future["messages"] == [] and future["next_page_uri"] is None
        sid = server.messages[0]["sid"]
        single = requests.get(
            server.url + f"/2010-04-01/Accounts/ACsandbox/Messages/{sid}.json",
            auth=auth,
            timeout=5,
        ).json()
        assert (single["sid"], single["body"], single["status"]) == (sid, "b0", "queued")


def test_records_are_copies_and_reset():
    with loopback.TwilioFormatServer() as server:
        twilio_post(server, FORM)
        server.messages[0]["body"] = "changed"
        assert server.messages[0]["body"] == "hi"
        assert server.get_message(server.messages[0]["sid"])["body"] == "hi"
        server.reset()
        assert server.messages == [] and server.requests_count == 0


def test_fail_next_validates_kind():
    with loopback.TwilioFormatServer() as server, pytest.raises(ValueError):
        server.fail_next(kind="gremlins")


def test_post_status_needs_a_url():
    with loopback.TwilioFormatServer() as server:
        twilio_post(server, FORM)
        with pytest.raises(ValueError):
            server.post_status(server.messages[0]["sid"], "delivered")


def test_post_status_updates_message_and_reports():
    with loopback.TwilioFormatServer() as server, loopback.WebhookRecorder() as recorder:
        twilio_post(server, dict(FORM, StatusCallback=recorder.url + "/cb"))
        sid = server.messages[0]["sid"]
        assert server.post_status(sid, "undelivered", error_code=30005) == (200, b"OK")
        assert server.get_message(sid)["status"] == "undelivered"
        assert server.get_message(sid)["error_code"] == 30005
        [report] = server.reports
        assert report["params"]["ErrorCode"] == "30005"
        assert report["status_code"] == 200
        # an unknown message can still be reported to an explicit URL
        assert server.post_status("SMunknown", "delivered", url=recorder.url + "/x")[0] == 200
        assert recorder.received[-1]["form"]["MessageSid"] == "SMunknown"


def test_vonage_server_auth_and_validation():
    with loopback.VonageFormatServer() as server:
        url = server.url + "/sms/json"
        form = VONAGE_FORM
        assert requests.post(url, data=form, timeout=5).json()["messages"][0]["status"] == "0"
        bad = requests.post(url, data=dict(form, api_secret="x"), timeout=5).json()
        assert bad["messages"][0] == {"status": "4", "error-text": "Bad Credentials"}
        missing = requests.post(url, data=dict(form, text=""), timeout=5).json()
        assert missing["messages"][0]["status"] == "2"
        # GET and JSON bodies are accepted too
        assert requests.get(url, params=form, timeout=5).json()["messages"][0]["status"] == "0"
        assert requests.post(url, json=form, timeout=5).json()["messages"][0]["status"] == "0"
        # a signed request (sig instead of api_secret)
        signed = {k: v for k, v in form.items() if k != "api_secret"}
        signed["timestamp"] = str(int(time.time()))
        signed["sig"] = loopback.vonage_signature("sigsecret", signed)
        assert requests.post(url, data=signed, timeout=5).json()["messages"][0]["status"] == "0"
        assert requests.post(server.url + "/other", data=form, timeout=5).status_code == 404
        assert len(server.messages) == 4
        assert server.messages[0]["client_ref"] is None


def test_vonage_scripted_http_errors():
    with loopback.VonageFormatServer() as server:
        url = server.url + "/sms/json"
        form = VONAGE_FORM
        server.fail_next(kind="server_error")
        assert requests.post(url, data=form, timeout=5).status_code == 500
        server.fail_next(kind="rate_limited")
        assert requests.post(url, data=form, timeout=5).json()["messages"][0]["status"] == "1"


def _run_sandbox_script(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen(
        [
            sys.executable,
            str(GATEWAYS_DIR / "sandbox_server.py"),
            "--port",
            "0",
            "--report-delay",
            "0.05",
            "--auth-token",
            "tok",
            "--account-sid",
            "ACdemo",
        ],
        cwd=tmp_path,  # the addon is not importable from there
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sandbox_server_runs_as_a_script(tmp_path):
    with loopback.WebhookRecorder(response=(200, "text/xml", twilio.EMPTY_TWIML)) as recorder:
        process = _run_sandbox_script(tmp_path)
        try:
            first_line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", first_line)
            assert match, first_line
            config = GatewayConfig(
                api_url=match.group(0), account_sid="ACdemo", auth_token="tok", sender="+1555"
            )
            with twilio.TwilioClient(config) as client:
                callback = recorder.url + "/status/abc"
                result = client.send(OutgoingSms("abc", "+15557654321", "demo", callback))
                assert result.status == "sent"
                requests_ = recorder.wait_for(2, timeout=5)
                statuses = [r["form"]["MessageStatus"] for r in requests_]
                assert statuses == ["sent", "delivered"]
                for request in requests_:
                    assert client.verify_signature(
                        callback, request["form"], request["headers"], b""
                    )
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=5)
    assert process.returncode == 0
    assert "demo" in output and result.provider_message_id in output
    assert "stopped" in output


def test_sandbox_server_imports_as_module():
    from sms_journey.tools.gateways import sandbox_server

    args = sandbox_server.build_parser().parse_args(["--port", "0", "--report-delay", "0.5"])
    server = sandbox_server.make_server(args)
    assert isinstance(server, loopback.TwilioFormatServer)
    assert (server.auth_token, server.account_sid, server.auto_report) == (
        "sandbox-token",
        "ACsandbox",
        True,
    )
    with server:
        assert twilio_post(server, FORM).status_code == 201
