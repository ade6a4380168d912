"""Webhook throughput: signed delivery reports and inbound replies fired at a running Odoo.

Starts Odoo with 2 workers on a scratch database, fires N signed Twilio-format status
callbacks and M signed inbound replies from a thread pool, and prints requests/s, p50/p99
latency, then proves from the database that every one was recorded exactly once (and that
replaying the inbound replies records nothing new).

    python bench/bench_webhooks.py [--statuses 10000] [--inbound 2000] [--clients 16]
"""

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from _odoo import ADDONS_PATH, ODOO_SRC, ensure_db, load_registry

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
        cr.execute(
            """INSERT INTO sms_gateway_message
                   (sms_uuid, gateway_id, company_id, number, body, sms_kind, state, due_at,
                    sent_at, attempts, segments, provider_message_id,
                    create_date, write_date, create_uid, write_uid)
               SELECT md5(random()::text || g::text), %s, %s,
                      '+3933312' || lpad(g::text, 5, '0'), 'Order shipped', 'transactional',
                      'sent', now() at time zone 'utc', now() at time zone 'utc', 1, 1,
                      'SMbench' || lpad(g::text, 6, '0'),
                      now() at time zone 'utc', now() at time zone 'utc', 1, 1
                 FROM generate_series(1, %s) g""",
            [gateway.id, env.company.id, statuses],
        )
        partners = env["res.partner"].create(
            [{"name": f"Bench {i}", "mobile": f"+3934712{i:05d}"} for i in range(inbound)]
        )
        cr.commit()
        return registry, gateway.id, partners.mapped("phone_sanitized")


def fire(jobs, clients):
    latencies, failures = [], []

    def one(job):
        url, data, headers = job
        start = time.perf_counter()
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
    parser.add_argument("--clients", type=int, default=16)
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
            "--max-cron-threads=0",
            "--log-level=warn",
            "--limit-time-real=600",
        ],
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
        print("status callbacks:", fire(status_jobs, args.clients), flush=True)
        print("inbound replies: ", fire(inbound_jobs, args.clients), flush=True)
        print("inbound replayed:", fire(inbound_jobs[:200], args.clients), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    with registry.cursor() as cr:
        cr.execute(
            "SELECT state, count(*) FROM sms_gateway_message WHERE gateway_id = %s GROUP BY state",
            [gateway_id],
        )
        print("outbox states after the callbacks:", dict(cr.fetchall()))
        cr.execute(
            """SELECT count(*), count(DISTINCT provider_message_id)
                 FROM sms_interaction WHERE gateway_id = %s""",
            [gateway_id],
        )
        total, distinct = cr.fetchone()
        print(
            f"interactions recorded: {total} ({distinct} distinct provider ids) "
            f"for {args.inbound} replies sent + 200 replayed"
        )


if __name__ == "__main__":
    main()
