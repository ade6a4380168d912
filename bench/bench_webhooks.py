"""Webhook throughput next to Odoo's own no-op route, on the same server and client.

Starts Odoo with 2 HTTP workers and 2 cron workers on a scratch database, fires Odoo's
``/web/health`` (no database, no work: the ceiling of this server and client), N signed
Twilio-format status callbacks and a burst of M signed inbound replies from the same
keep-alive clients, and prints requests/s, p50/p99 latency and the ratio to
``/web/health``. Then it waits for the inbound worker to process the burst, and proves from
the database that every callback and every reply was recorded exactly once (replaying
200 replies records nothing new), that each reply was processed once (one chatter
message, one courtesy reply) and how long the burst took to be fully processed.
Last, ``/web/health`` again: the ratios are to the anchor measured first, and the drift
of the machine during the run is shown next to them (ratios to the mean of both).
The scratch database is dropped at the end (``--keep`` keeps it).

    python bench/bench_webhooks.py [--statuses 10000] [--inbound 2000] [--clients 4]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests
from _odoo import ADDONS_PATH, ODOO_SRC, ensure_db, insert_sent_messages, load_registry

TOKEN = "bench-token"


def prepare(db, port, statuses, inbound):
    odoo, registry = load_registry(db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param("web.base.url", f"http://127.0.0.1:{port}")
        gateway = env["sms.gateway"].create(
            {
                "name": "bench hooks",
                "code": "sandbox",
                "api_url": "http://127.0.0.1:9",
                "account_sid": "ACbench",
                "auth_token": TOKEN,
                "sender": "+15005550006",
            }
        )
        env.company.sms_gateway_id = gateway
        insert_sent_messages(cr, gateway.id, env.company.id, statuses, "SMbench", 6)
        partners = env["res.partner"].create(
            [{"name": f"Bench {i}", "mobile": f"+3934712{i:05d}"} for i in range(inbound)]
        )
        # each replying number was texted first: a sandbox takes replies from no other
        env.flush_all()  # their phone_sanitized, read below
        cr.execute(
            """INSERT INTO sms_gateway_message
                   (sms_uuid, gateway_id, company_id, partner_id, number, body, sms_kind,
                    state, due_at, sent_at, attempts, segments, provider_message_id,
                    create_date, write_date, create_uid, write_uid)
               SELECT md5(random()::text || p.id::text), %s, %s, p.id, p.phone_sanitized,
                      'Your order is ready', 'transactional', 'delivered',
                      now() at time zone 'utc' - interval '1 day',
                      now() at time zone 'utc' - interval '1 day', 1, 1, 'SMtexted' || p.id,
                      now() at time zone 'utc' - interval '1 day',
                      now() at time zone 'utc' - interval '1 day', 1, 1
                 FROM res_partner p WHERE p.id = ANY(%s)""",
            [gateway.id, env.company.id, partners.ids],
        )
        cr.commit()
        return registry, gateway.id, partners.mapped("phone_sanitized")


def fire(jobs, clients):
    """``jobs``: (url, form data or None for a GET, headers)."""
    latencies, failures = [], []

    def one(job):
        url, data, headers = job
        start = time.perf_counter()
        if data is None:
            response = session.get(url, headers=headers, timeout=30)
        else:
            response = session.post(url, data=data, headers=headers, timeout=30)
        latencies.append(time.perf_counter() - start)
        if response.status_code >= 300:
            failures.append(response.status_code)

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=clients))
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, jobs))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(jobs),
        "req/s": round(len(jobs) / elapsed),
        "p50 ms": round(statistics.median(latencies) * 1000, 1),
        "p99 ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "errors": len(failures),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sj_bench_hooks")
    parser.add_argument("--port", type=int, default=8879)
    parser.add_argument("--statuses", type=int, default=10000)
    parser.add_argument("--inbound", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    ensure_db(args.db, fresh=True)
    registry, gateway_id, numbers = prepare(args.db, args.port, args.statuses, args.inbound)
    from odoo.addons.sms_journey.tools.gateways.twilio import compute_signature

    server = subprocess.Popen(
        [
            sys.executable,
            f"{ODOO_SRC}/odoo-bin",
            f"--addons-path={ADDONS_PATH}",
            "-d",
            args.db,
            f"--db-filter=^{args.db}$",
            f"--http-port={args.port}",
            "--workers=2",
            "--max-cron-threads=2",
            "--log-level=warn",
            "--limit-time-real=600",
        ],
        start_new_session=True,  # its workers are killed with it (see the end)
    )
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _attempt in range(120):
            try:
                requests.get(f"{base}/web/login", timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.5)
        status_url = f"{base}/sms_journey/{gateway_id}/status"
        inbound_url = f"{base}/sms_journey/{gateway_id}/inbound"

        def signed(url, data):
            return url, data, {"X-Twilio-Signature": compute_signature(TOKEN, url, data)}

        status_jobs = [
            signed(
                status_url,
                {
                    "MessageSid": f"SMbench{i:06d}",
                    "MessageStatus": "delivered",
                    "AccountSid": "ACbench",
                },
            )
            for i in range(1, args.statuses + 1)
        ]
        inbound_jobs = [
            signed(
                inbound_url,
                {
                    "MessageSid": f"SMin{i:06d}",
                    "From": number,
                    "To": "+15005550006",
                    "Body": "Thanks, see you tomorrow",
                    "AccountSid": "ACbench",
                },
            )
            for i, number in enumerate(numbers)
        ]
        health_jobs = [(f"{base}/web/health", None, {})] * args.statuses
        fire(health_jobs[:500], args.clients)  # warm the workers and the connections
        health = fire(health_jobs, args.clients)
        print("/web/health:     ", health, flush=True)
        status = fire(status_jobs, args.clients)
        print("status callbacks:", status, ratio(status, health), flush=True)
        # to the second, as Odoo stores create_date: a reply answered within the first
        # second would otherwise not be counted
        burst_start = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        started = time.perf_counter()
        inbound = fire(inbound_jobs, args.clients)
        print("inbound replies: ", inbound, ratio(inbound, health), flush=True)
        processed_in, done = wait_processed(registry, gateway_id, args.inbound, started)
        print(
            f"burst: {done} of {args.inbound} replies processed {processed_in:.1f} s after "
            "the first was sent",
            flush=True,
        )
        replayed = fire(inbound_jobs[:200], args.clients)
        print("inbound replayed:", replayed, flush=True)
        time.sleep(2)  # a replay must not be processed again
        # The anchor again, now that the burst is processed: how much the machine's own
        # speed drifted during the run (shared cores vary by ±20 % within a minute).
        health_after = fire(health_jobs, args.clients)
        print("/web/health after:", health_after, flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a cron worker in the middle of a batch
            server.kill()
            server.wait(timeout=30)
        # a worker outliving its killed master would go on writing in the database
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    try:
        check(registry, gateway_id, args, burst_start)
        for name, result in (("status", status), ("inbound", inbound)):
            assert result["errors"] == 0, f"{name}: {result['errors']} errors"
        print(
            f"summary: status {ratio(status, health)}, inbound {ratio(inbound, health)}, "
            f"p99 status {status['p99 ms']} ms / inbound {inbound['p99 ms']} ms, "
            f"burst: {done}/{args.inbound} processed in {processed_in:.1f} s"
        )
        both = {"req/s": (health["req/s"] + health_after["req/s"]) / 2}
        print(
            f"anchor drift: /web/health {health['req/s']} req/s before, "
            f"{health_after['req/s']} after; to their mean: status {ratio(status, both)}, "
            f"inbound {ratio(inbound, both)}"
        )
    finally:
        if not args.keep:
            from odoo.sql_db import close_db

            close_db(args.db)
            subprocess.run(["dropdb", "--force", args.db], check=False)


def ratio(result, health):
    return f"{result['req/s'] / health['req/s']:.2f}x /web/health"


def wait_processed(registry, gateway_id, expected, started, timeout=120):
    """(seconds from the first reply sent until every reply is processed or ``timeout``,
    replies processed by then)."""
    while True:
        with registry.cursor() as cr:
            cr.execute(
                """SELECT count(*) FROM sms_interaction
                    WHERE gateway_id = %s AND pipeline_state = 'processed'""",
                [gateway_id],
            )
            done = cr.fetchone()[0]
        elapsed = time.perf_counter() - started
        if done >= expected or elapsed > timeout:
            return elapsed, done
        time.sleep(0.2)


def check(registry, gateway_id, args, burst_start):
    """Exactly once, from the database."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT state, count(*) FROM sms_gateway_message WHERE gateway_id = %s "
            "AND provider_message_id LIKE 'SMbench%%' GROUP BY state",
            [gateway_id],
        )
        states = dict(cr.fetchall())
        print("outbox states after the callbacks:", states)
        assert states == {"delivered": args.statuses}, states
        cr.execute(
            """SELECT count(*), count(DISTINCT provider_message_id),
                      count(*) FILTER (WHERE pipeline_state = 'processed'),
                      count(DISTINCT mail_message_id),
                      count(*) FILTER (WHERE courtesy_sent)
                 FROM sms_interaction WHERE gateway_id = %s""",
            [gateway_id],
        )
        total, distinct, processed, chatter, courtesy = cr.fetchone()
        cr.execute(
            """SELECT count(*) FROM sms_gateway_message
                WHERE gateway_id = %s AND create_date >= %s""",
            [gateway_id, burst_start],
        )
        replies = cr.fetchone()[0]
        print(
            f"interactions recorded: {total} ({distinct} distinct provider ids, {processed} "
            f"processed, {chatter} chatter messages, {courtesy} courtesy replies, {replies} "
            f"outbox rows) for {args.inbound} replies sent + 200 replayed"
        )
        expected = args.inbound
        assert (total, distinct, processed, chatter) == (expected,) * 4, "not exactly once"
        assert courtesy == replies == expected, "one courtesy reply per reply"


if __name__ == "__main__":
    main()
