"""Outbox dispatch throughput: queued SMS sent to a loopback Twilio-format provider.

One cron worker (the real `_cron_dispatch`, committing as in production) sends N queued
messages to a provider that answers after 100 ms; then the same worker is forced to one
request at a time, as a naive connector sends. Prints messages/s for both, the ratio and
the worker's peak memory.

Then the scale-out on Odoo's own cron engine: 1, then 2 Odoo servers (each one cron
thread; the outbox has two dispatch lanes) send N queued messages to the same provider;
prints msg/s and the duplicates the provider received. Last, 2 servers on a gateway
limited to --mps messages per second: the rate they reach together.

    python bench/bench_dispatch.py [--messages 20000] [--naive-messages 300] [--delay 0.1]
        [--scale-messages 6000] [--servers 1,2] [--mps 100] [--skip-single]
"""

import time
import uuid

from _odoo import (  # noqa: F401
    REPO,
    bench_parser,
    ensure_db,
    load_registry,
    peak_rss_mb,
    provider_duplicates,
    start_server,
    stop_server,
    wait_ready,
)


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


def make_gateway(env, server, rate, concurrency):
    gateway = env["sms.gateway"].create(
        {
            "name": f"bench {uuid.uuid4().hex[:6]}",
            "code": "sandbox",
            "api_url": server.url,
            "account_sid": server.account_sid,
            "auth_token": server.auth_token,
            "sender": "+15005550006",
            "timeout": 10,
            "rate_limit": rate,
            "max_concurrency": concurrency,
        }
    )
    env.cr.commit()
    return gateway


def outbox_states(env, gateway):
    env.cr.execute(
        "SELECT state, count(*) FROM sms_gateway_message WHERE gateway_id = %s GROUP BY state",
        [gateway.id],
    )
    return dict(env.cr.fetchall())


def wait_until_sent(env, gateway, timeout=900):
    """Poll the database until nothing of ``gateway`` is queued or being sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        env.cr.rollback()  # a fresh snapshot
        states = outbox_states(env, gateway)
        if not states.get("queued") and not states.get("sending"):
            return states
        time.sleep(0.1)
    raise TimeoutError(f"outbox not sent after {timeout} s: {outbox_states(env, gateway)}")


def trigger_lanes(env):
    env["sms.gateway.message"]._trigger_dispatch()
    env.cr.commit()  # NOTIFY cron_trigger wakes the cron threads


def scale_out(env, server, db, servers, count, rate, concurrency, base_port, log):
    """``servers`` Odoo servers, one cron thread each, send ``count`` messages."""
    gateway = make_gateway(env, server, rate, concurrency)
    server.reset()
    processes = [
        start_server(db, base_port + index, cron_threads=1, log=log) for index in range(servers)
    ]
    try:
        for index in range(servers):
            wait_ready(base_port + index)
        queue_messages(env, gateway, count)
        start = time.perf_counter()
        trigger_lanes(env)
        states = wait_until_sent(env, gateway)
        elapsed = time.perf_counter() - start
    finally:
        for process in processes:
            stop_server(process)
    messages = server.messages
    env.cr.execute("DELETE FROM sms_gateway_message WHERE gateway_id = %s", [gateway.id])
    gateway.unlink()
    env.cr.commit()
    return elapsed, states, len(messages), provider_duplicates(messages)


def main():
    parser = bench_parser(__doc__, messages=20000)
    parser.add_argument("--naive-messages", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--scale-messages", type=int, default=6000)
    parser.add_argument("--servers", default="1,2", help="server counts to compare")
    parser.add_argument("--mps", type=float, default=100.0, help="rate of the MPS check")
    parser.add_argument("--mps-messages", type=int, default=1500)
    parser.add_argument("--skip-single", action="store_true", help="only the scale-out")
    args = parser.parse_args()

    ensure_db(args.db)
    odoo, registry = load_registry(args.db)
    from odoo.addons.sms_journey.tools.gateways.loopback import TwilioFormatServer

    server = TwilioFormatServer(auth_token="bench", account_sid="ACbench", delay=args.delay)
    server.start()
    results = {}
    scaled = {}
    single = (
        ()
        if args.skip_single
        else (
            ("concurrent", args.messages, args.concurrency, args.rate),
            ("one at a time", args.naive_messages, 1, 10000.0),
        )
    )
    try:
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            with open(f"/tmp/{args.db}_servers.log", "ab") as log:
                for servers in [int(n) for n in args.servers.split(",")]:
                    scaled[f"{servers} server(s)"] = scale_out(
                        env,
                        server,
                        args.db,
                        servers,
                        args.scale_messages,
                        args.rate,
                        args.concurrency,
                        args.port,
                        log,
                    ) + (args.scale_messages,)
                scaled[f"2 servers, MPS {args.mps:g}"] = scale_out(
                    env,
                    server,
                    args.db,
                    2,
                    args.mps_messages,
                    args.mps,
                    args.concurrency,
                    args.port,
                    log,
                ) + (args.mps_messages,)
            for name, count, concurrency, rate in single:
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
    if results:
        fast = results["concurrent"][0] / results["concurrent"][1]
        slow = results["one at a time"][0] / results["one at a time"][1]
        print(f"speed-up: {fast / slow:.1f}x; worker peak RSS {peak_rss_mb():.0f} MB")
    for name, (elapsed, states, received, duplicates, count) in scaled.items():
        print(
            f"scale-out, {name}: {count} messages in {elapsed:.1f} s = "
            f"{count / elapsed:.0f} msg/s; provider received {received}, "
            f"duplicates {duplicates}; states {states}"
        )


if __name__ == "__main__":
    main()
