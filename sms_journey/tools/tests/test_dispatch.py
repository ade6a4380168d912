"""send_batch: order, parallelism, rate limit, resilience (real HTTP on loopback)."""

import time

import pytest

from sms_journey.tools.gateways import loopback, twilio
from sms_journey.tools.gateways.base import GatewayClient, GatewayConfig, OutgoingSms, SendResult
from sms_journey.tools.gateways.dispatch import send_batch
from sms_journey.tools.rate_limit import TokenBucket


def batch(count, prefix="m"):
    return [
        OutgoingSms(reference=f"{prefix}{i:03d}", to=f"+1555000{i:04d}", body=f"Message {i}")
        for i in range(count)
    ]


def client_for(server, max_concurrency=4):
    return twilio.TwilioClient(
        GatewayConfig(
            api_url=server.url,
            account_sid=server.account_sid,
            auth_token=server.auth_token,
            sender="+15550001111",
            timeout=5,
            max_concurrency=max_concurrency,
        )
    )


def test_results_in_input_order():
    with loopback.TwilioFormatServer() as server, client_for(server) as client:
        server.fail_next(to="+15550000003", kind="invalid_number")
        messages = batch(12)
        results = send_batch(client, messages, rate_limit=1000, max_concurrency=4)
    assert [r.reference for r in results] == [m.reference for m in messages]
    assert [r.status for r in results].count("sent") == 11
    assert results[3].error_code == "invalid_number"
    assert len(server.messages) == 11


def test_empty_batch():
    assert send_batch(None, [], rate_limit=1, max_concurrency=1) == []


def test_sends_in_parallel_and_reuses_connections():
    with loopback.TwilioFormatServer(delay=0.2) as server, client_for(server) as client:
        start = time.monotonic()
        results = send_batch(client, batch(8), rate_limit=1000, max_concurrency=4)
        elapsed = time.monotonic() - start
    assert all(r.status == "sent" for r in results)
    assert 0.35 <= elapsed < 1.2  # 2 rounds of 0.2 s, not 8
    assert server.connections_count <= 4


def test_pool_grows_with_concurrency():
    # the client was built for 2 connections, the batch runs 6 at once: no connection is
    # thrown away (urllib3 would discard the surplus of a too small pool)
    with loopback.TwilioFormatServer(delay=0.05) as server:
        with client_for(server, max_concurrency=2) as client:
            for _ in range(2):
                send_batch(client, batch(12), rate_limit=1000, max_concurrency=6)
        assert server.connections_count <= 6


def test_rate_limit_respected():
    with loopback.TwilioFormatServer() as server, client_for(server) as client:
        start = time.monotonic()
        results = send_batch(client, batch(20), rate_limit=50, max_concurrency=4)
        elapsed = time.monotonic() - start
        received = sorted(m["received_at"] for m in server.messages)
    assert all(r.status == "sent" for r in results)
    assert elapsed >= 0.35  # 19 intervals of 20 ms
    # no one-second window ever sees more than the limit (checked on 0.2 s windows: 10 + 1)
    for first in received:
        assert sum(1 for t in received if first <= t < first + 0.2) <= 11


def test_shared_bucket_spans_batches():
    bucket = TokenBucket(50)
    with loopback.TwilioFormatServer() as server, client_for(server) as client:
        start = time.monotonic()
        send_batch(client, batch(10), rate_limit=50, max_concurrency=4, bucket=bucket)
        send_batch(client, batch(10), rate_limit=50, max_concurrency=4, bucket=bucket)
        elapsed = time.monotonic() - start
    assert elapsed >= 0.35


class FlakyClient(GatewayClient):
    code = "flaky"

    def __init__(self):
        super().__init__(GatewayConfig())

    def send(self, sms):
        index = int(sms.reference[1:])
        if index % 3 == 0:
            raise RuntimeError(f"boom on {sms.reference}")
        if index % 3 == 1:
            return "not a result"
        return SendResult(sms.reference, "sent", provider_message_id=f"P{index}")


def test_crashing_client_loses_no_message():
    messages = batch(9)
    results = send_batch(FlakyClient(), messages, rate_limit=1000, max_concurrency=3)
    assert [r.reference for r in results] == [m.reference for m in messages]
    for index, result in enumerate(results):
        if index % 3 == 2:
            assert result.status == "sent"
        else:
            assert (result.status, result.error_code) == ("retry", "unknown")
    assert "RuntimeError: boom on m000" in results[0].error_message


@pytest.mark.parametrize("kind, status", [("rate_limited", "retry"), ("opted_out", "failed")])
def test_errors_are_results(kind, status):
    with loopback.TwilioFormatServer() as server, client_for(server) as client:
        server.fail_next(kind=kind, times=3)
        results = send_batch(client, batch(6), rate_limit=1000, max_concurrency=1)
    assert [r.status for r in results] == [status] * 3 + ["sent"] * 3
