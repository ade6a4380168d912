"""Queries and time per SMS of the journey step cron, and per signed status callback.

Noise-free evidence next to the timed benchmarks: the count of SQL statements (Odoo's
``odoo.sql_db.sql_counter``, every cursor of the process, the bus's NOTIFY cursor
included) that one journey SMS and one status callback cost, and their time in process.

- ``journey``: the step cron (real ``_cron_execute_due``, committing, as
  ``bench_journey.py`` (b)) on ``--sizes`` due participants of a one-SMS transactional
  journey; queries per SMS are the slope between the sizes (what each more SMS costs).
- ``status``: ``--callbacks`` signed Twilio-format delivery reports (sent → delivered)
  through Odoo's WSGI application in process (werkzeug test client: routing, the
  request's transaction, its commit and post-commit hooks), next to Odoo's no-op
  ``/web/health`` through the same client.

``--repo`` runs another checkout's addon on its own database, so two trees can be
compared in interleaved runs (before, after, before, after...):

    python bench/bench_queries.py --db t21 --part journey --rounds 3
    python bench/bench_queries.py --db t21b --repo /work/wt/t21-before --part status

``--without-live-screens`` sends no bus notification for the live screens (issue 23), to
tell their cost apart from the rest of a change.
"""

import argparse
import cProfile
import json
import os
import statistics
import time
import traceback

import _odoo


def sql_count():
    from odoo import sql_db

    return sql_db.sql_counter


def journey_part(odoo, registry, sizes, rounds, profile=None):
    import bench_journey as bj

    from odoo.addons.sms_journey.tools.gateways.loopback import TwilioFormatServer

    server = TwilioFormatServer(auth_token="bench", account_sid="ACbench")
    server.start()
    results = {size: {"queries": [], "seconds": [], "cpu": []} for size in sizes}
    try:
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            base = bj.bench_partners(env, max(sizes))
            gateway, template = bj.setup(env, server.url)
            bj.cleanup(env, None, gateway)
            journey = bj.make_journey(env, template, base, 50, 50)  # warm-up
            bj.run_step_cron(env, journey, gateway)
            bj.cleanup(env, journey, gateway)
            for _round in range(rounds):
                for size in sizes:
                    journey = bj.make_journey(env, template, base, size, size)
                    before, cpu = sql_count(), time.process_time()
                    last = size == max(sizes) and _round == rounds - 1
                    profiler = cProfile.Profile() if profile and last else None
                    if profiler:
                        profiler.enable()
                    elapsed, sent, _done = bj.run_step_cron(env, journey, gateway)
                    if profiler:
                        profiler.disable()
                        profiler.dump_stats(profile)
                        profile = None
                    assert sent == size, (sent, size)
                    results[size]["queries"].append(sql_count() - before)
                    results[size]["seconds"].append(elapsed)
                    results[size]["cpu"].append(time.process_time() - cpu)
                    bj.cleanup(env, journey, gateway)
            env.company.sms_gateway_id = False
            gateway.unlink()
            template.unlink()
            cr.commit()
    finally:
        server.stop()
    low, high = min(sizes), max(sizes)
    queries = {size: statistics.median(r["queries"]) for size, r in results.items()}
    return {
        "queries": queries,
        "queries per SMS (slope)": round((queries[high] - queries[low]) / (high - low), 3),
        "SMS/s (median)": {
            size: round(size / statistics.median(r["seconds"])) for size, r in results.items()
        },
        # this process's CPU: less shaken by the other processes of a loaded machine
        "CPU ms per SMS (median)": {
            size: round(statistics.median(r["cpu"]) / size * 1000, 3) for size, r in results.items()
        },
        "SMS/s (all)": {
            size: [round(size / seconds) for seconds in r["seconds"]] for size, r in results.items()
        },
    }


def drop_status_gateways(cr):
    cr.execute("SELECT id FROM sms_gateway WHERE name = 'bench queries'")
    ids = [row[0] for row in cr.fetchall()]
    if ids:
        cr.execute("DELETE FROM sms_gateway_message WHERE gateway_id = ANY(%s)", [ids])
        cr.execute(
            "UPDATE res_company SET sms_gateway_id = NULL WHERE sms_gateway_id = ANY(%s)", [ids]
        )
        cr.execute("DELETE FROM sms_gateway WHERE id = ANY(%s)", [ids])


def show_queries(run):
    """Print the statements ``run()`` executes, on every cursor."""
    from odoo import sql_db

    execute = sql_db.Cursor.execute

    def logged(self, query, params=None, log_exceptions=True):
        print(f"  [{self.dbname}] {str(query)[:160]!r}")
        if os.environ.get("BENCH_QUERY_STACK") and os.environ["BENCH_QUERY_STACK"] in str(query):
            traceback.print_stack(limit=25)
        return execute(self, query, params, log_exceptions)

    sql_db.Cursor.execute = logged
    try:
        run()
    finally:
        sql_db.Cursor.execute = execute


def status_part(odoo, registry, callbacks, rounds, show=False, profile=None):
    from werkzeug.test import Client

    from odoo.addons.sms_journey.tools.gateways.twilio import compute_signature

    token = "bench-token"
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        drop_status_gateways(cr)  # of an interrupted run
        gateway = env["sms.gateway"].create(
            {
                "name": "bench queries",
                "code": "sandbox",
                "api_url": "http://127.0.0.1:9",
                "account_sid": "ACbench",
                "auth_token": token,
                "sender": "+15005550006",
            }
        )
        env.company.sms_gateway_id = gateway
        _odoo.insert_sent_messages(
            cr, gateway.id, env.company.id, callbacks * (rounds + 1), "SMq", 7
        )
        cr.commit()
        gateway_id = gateway.id
    base_url = "http://localhost"  # the host the test client's requests get
    url = f"{base_url}/sms_journey/{gateway_id}/status"
    client = Client(odoo.http.root)

    def fire(first, count):
        before, started, cpu = sql_count(), time.perf_counter(), time.process_time()
        for i in range(first, first + count):
            data = {
                "MessageSid": f"SMq{i:07d}",
                "MessageStatus": "delivered",
                "AccountSid": "ACbench",
            }
            response = client.post(
                url, data=data, headers={"X-Twilio-Signature": compute_signature(token, url, data)}
            )
            assert response.status_code == 200, (response.status_code, response.get_data())
        return (
            (sql_count() - before) / count,
            (time.perf_counter() - started) / count * 1000,
            (time.process_time() - cpu) / count * 1000,
        )

    def health(count):
        before, started, cpu = sql_count(), time.perf_counter(), time.process_time()
        for _i in range(count):
            assert client.get(f"{base_url}/web/health").status_code == 200
        return (
            (sql_count() - before) / count,
            (time.perf_counter() - started) / count * 1000,
            (time.process_time() - cpu) / count * 1000,
        )

    fire(1, callbacks)  # warm-up
    if show:
        show_queries(lambda: fire(callbacks * (rounds + 1), 1))
    health(callbacks)
    runs, anchors = [], []
    for round_ in range(1, rounds + 1):
        anchors.append(health(callbacks))
        profiler = cProfile.Profile() if profile and round_ == rounds else None
        if profiler:
            profiler.enable()
        runs.append(fire(round_ * callbacks + 1, callbacks))
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    with registry.cursor() as cr:
        cr.execute(
            """SELECT count(*) FROM sms_gateway_message
                WHERE gateway_id = %s AND state = 'delivered'""",
            [gateway_id],
        )
        delivered = cr.fetchone()[0]
        drop_status_gateways(cr)
        cr.commit()
    assert delivered == callbacks * (rounds + 1), delivered

    def med(values, i):
        return round(statistics.median(v[i] for v in values), 2)

    return {
        "queries per callback": med(runs, 0),
        "ms per callback (wall, CPU)": (med(runs, 1), med(runs, 2)),
        "queries per /web/health": med(anchors, 0),
        "ms per /web/health (wall, CPU)": (med(anchors, 1), med(anchors, 2)),
        "callback / health wall": [
            round(run[1] / anchor[1], 2) for run, anchor in zip(runs, anchors, strict=True)
        ],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sj_bench_queries")
    parser.add_argument("--repo", help="the checkout whose sms_journey runs (default: this one)")
    parser.add_argument("--part", choices=("journey", "status"), default="journey")
    parser.add_argument("--sizes", default="500,2000", help="journey: due participants")
    parser.add_argument("--callbacks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--show-queries", action="store_true", help="status: one callback's")
    parser.add_argument(
        "--profile",
        help="cProfile stats here (journey: the last round's largest pass; status: the last round)",
    )
    parser.add_argument(
        "--without-live-screens",
        action="store_true",
        help="no bus notification for the live screens (issue 23), to tell their cost apart",
    )
    args = parser.parse_args()
    if args.repo:
        _odoo.ADDONS_PATH = f"{_odoo.ODOO_SRC}/odoo/addons,{args.repo}"
    _odoo.ensure_db(args.db)
    odoo, registry = _odoo.load_registry(args.db, f"--db-filter=^{args.db}$")
    if args.without_live_screens and "sms.conversation" in registry:
        conversation = registry["sms.conversation"]
        if hasattr(conversation, "_notify_changed"):
            conversation._notify_changed = lambda self, changes, replies=False: None
    if args.part == "journey":
        sizes = [int(size) for size in args.sizes.split(",")]
        result = journey_part(odoo, registry, sizes, args.rounds, args.profile)
    else:
        result = status_part(
            odoo, registry, args.callbacks, args.rounds, args.show_queries, args.profile
        )
    print(json.dumps({"db": args.db, "part": args.part, **result}, default=str))


if __name__ == "__main__":
    main()
