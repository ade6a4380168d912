"""Outbox dispatch throughput: queued SMS sent to a loopback Twilio-format provider.

One cron worker (the real `_cron_dispatch`, committing as in production) sends N queued
messages to a provider that answers after 100 ms; then the same worker is forced to one
request at a time, as a naive connector sends. Prints messages/s for both, the ratio and
the worker's peak memory.

    python bench/bench_dispatch.py [--messages 20000] [--naive-messages 300] [--delay 0.1]
"""

import argparse
import time
import uuid

from _odoo import REPO, ensure_db, load_registry, peak_rss_mb  # noqa: F401


def queue_messages(env, gateway, count):
    env.cr.execute(
        """INSERT INTO sms_gateway_message
               (sms_uuid, gateway_id, company_id, number, body, sms_kind, state, due_at,
                attempts, segments, create_date, write_date, create_uid, write_uid)
           SELECT md5(random()::text || g::text), %s, %s, '+3933312' || lpad(g::text, 5, '0'),
                  'Your order ' || g || ' has shipped', 'transactional', 'queued',
                  now() at time zone 'utc' - interval '1 minute', 0, 1,
                  now() at time zone 'utc', now() at time zone 'utc', 1, 1
             FROM generate_series(1, %s) g""",
        [gateway.id, gateway.company_id.id, count],
    )
    env.cr.commit()


def run(env, gateway, count, concurrency, rate):
    gateway.write({"max_concurrency": concurrency, "rate_limit": rate})
    env.cr.commit()
    queue_messages(env, gateway, count)
    outbox = env["sms.gateway.message"]
    start = time.perf_counter()
    while True:
        claimed = outbox._cron_dispatch(batch_size=1000)
        if not claimed:
            break
    elapsed = time.perf_counter() - start
    env.cr.execute(
        "SELECT state, count(*) FROM sms_gateway_message WHERE gateway_id = %s GROUP BY state",
        [gateway.id],
    )
    states = dict(env.cr.fetchall())
    return elapsed, states


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sj_bench_dispatch")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--naive-messages", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()

    ensure_db(args.db)
    odoo, registry = load_registry(args.db)
    from odoo.addons.sms_journey.tools.gateways.loopback import TwilioFormatServer

    server = TwilioFormatServer(auth_token="bench", account_sid="ACbench", delay=args.delay)
    server.start()
    results = {}
    try:
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            for name, count, concurrency, rate in (
                ("concurrent", args.messages, args.concurrency, args.rate),
                ("one at a time", args.naive_messages, 1, 10000.0),
            ):
                gateway = env["sms.gateway"].create(
                    {
                        "name": f"bench {uuid.uuid4().hex[:6]}",
                        "code": "sandbox",
                        "api_url": server.url,
                        "account_sid": "ACbench",
                        "auth_token": "bench",
                        "sender": "+15005550006",
                        "timeout": 10,
                    }
                )
                server.reset()
                elapsed, states = run(env, gateway, count, concurrency, rate)
                results[name] = (count, elapsed, states, server.requests_count)
                cr.execute("DELETE FROM sms_gateway_message WHERE gateway_id = %s", [gateway.id])
                gateway.unlink()
                cr.commit()
    finally:
        server.stop()

    print(f"provider latency {args.delay * 1000:.0f} ms")
    for name, (count, elapsed, states, requests) in results.items():
        print(
            f"{name:>14}: {count} messages in {elapsed:.1f} s = {count / elapsed:.0f} msg/s "
            f"(provider got {requests} requests; states {states})"
        )
    fast = results["concurrent"][0] / results["concurrent"][1]
    slow = results["one at a time"][0] / results["one at a time"][1]
    print(f"speed-up: {fast / slow:.1f}x; worker peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
