#!/usr/bin/env python3
"""The behaviour triggers (browse abandonment, price drop) on a large shop history.

Generates, in a scratch database copied from a database with sms_journey installed
(``--template``): contacts and orders (``bench_audience.generate``), products, three
pricelists, identified and anonymous website visitors and page views spread over the
last 30 days (``--views``, most of them product pages), in SQL. Then upgrades
sms_journey from this checkout (its indexes on ``website_track`` are created then: the
time is printed) and times, in process, each trigger's run over the last day
(``since = now - 1 day``): the candidates query (``_candidates_<trigger>``), then the
day's run as the enrolment cron makes it: ``_enrol(now, batch_size)`` (the cron's
default batch) called until the window is done, each call's writes flushed and the ORM
cache cleared as the cron's commit and next transaction would, all rolled back at the
end; printed: the first call (the scan), the second, the slowest of the others and the
total of the calls. Browse abandonment is also asked for the last hour (the cron runs
every 15 minutes).

Price drop runs twice: a first run that only records the prices of the viewed products
(its baseline over ``viewed_days``), then, after ``--changed`` products got cheaper and
a pricelist rule changed, the day's run that finds the drops, as above. Target: each
trigger's run over a day's changes ≤ 2 s.

Each line prints the wall time, this process's CPU time and the CPU time of the
PostgreSQL backend serving the cursor (``/proc/<pg_backend_pid()>/stat``; a parallel
query's workers are not counted): on a shared machine the wall time mostly tells the
load. The participants table is vacuumed first (each run inserts and rolls back tens of
thousands). ``--profile`` prints a cProfile of all the calls of each day's run.
Measured 2026-12-07 09:32-09:37 (load average 4.3-4.7 on 2 cores; bench/README.md, "A
window scanned once, enrolled in chunks"), CPU (Python + backend) of the whole day's run:
browse abandonment (57,000 contacts) 114 calls of 500 67.4 s before, 13 calls (the scan,
then 5,000 per call) 5.4-8.2 s after; price drop (31,800 contacts) 64 calls 6.2 s
before, 8 calls 4.8-5.8 s after; the scan call 1.5-2.4 s, the chunks 0.4-0.65 s, most
of it the participants' INSERT (foreign-key checks).

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_behaviour.py --template lead9
    # again on the same data, after ``-u sms_journey`` of the database with this checkout:
    ~/.cache/sms_journey/venv-*/bin/python bench/bench_behaviour.py --db sj_bench_behaviour --keep
"""

import cProfile
import inspect
import os
import pstats
import subprocess
import sys
import time
from datetime import datetime, timedelta

from _odoo import ADDONS_PATH, ODOO_SRC, backend_cpu, db_exists, odoo_bin
from bench_audience import generate, generated_data_parser


def parse_args():
    parser = generated_data_parser(__doc__, "sj_bench_behaviour", orders=300_000, template="lead9")
    parser.add_argument("--views", type=int, default=5_000_000)
    parser.add_argument("--visitors", type=int, default=400_000)
    parser.add_argument("--identified", type=float, default=0.5, help="share of visitors")
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--changed", type=int, default=50, help="products cheaper today")
    parser.add_argument("--profile", action="store_true", help="cProfile each day's run")
    return parser.parse_args()


VISITORS_SQL = """
INSERT INTO website_visitor (access_token, partner_id, website_id, visit_count,
                             last_connection_datetime, create_date, write_date)
SELECT CASE WHEN v <= %(identified)s THEN (%(base)s + v)::text
            ELSE md5('anonymous' || v::text) END,
       CASE WHEN v <= %(identified)s THEN %(base)s + v END,
       %(website)s, 1, now() at time zone 'utc', now() at time zone 'utc',
       now() at time zone 'utc'
  FROM generate_series(1, %(n)s) AS v
"""
# 80 % product pages (a skewed choice of products: the first ones are the popular ones),
# the rest other pages; spread evenly over the last 30 days
TRACKS_SQL = """
INSERT INTO website_track (visitor_id, product_id, url, visit_datetime)
SELECT %(first_visitor)s + ((g::bigint * 7919) %% %(visitors)s)::int,
       CASE WHEN g %% 5 < 4 THEN (%(products)s)[1 + (((g::bigint * 104729) %% %(np)s)
                                      * ((g::bigint * 31) %% %(np)s) / %(np)s)::int] END,
       '/shop/p' || g %% 1000,
       (now() at time zone 'utc')
         - make_interval(secs => ((%(n)s - g)::bigint * 30 * 86400 / %(n)s)::int)
  FROM generate_series(1, %(n)s) AS g
"""


def run_sql(cr, label, query, params=None):
    started = time.perf_counter()
    cr.execute(query, params or {})
    print(f"  {label} in {time.perf_counter() - started:.1f} s", flush=True)


def contacts_and_products(env, args, name="Bench product", **values):
    """``bench_audience.generate``'s contacts and orders, then ``args.products``
    published products (ORM, ``values`` added), committed. Returns (the id before the
    first generated contact, the products)."""
    cr = env.cr
    generate(cr, args.partners, args.orders)
    cr.commit()
    cr.execute("SELECT max(id) - %s FROM res_partner", [args.partners])
    base = cr.fetchone()[0]
    started = time.perf_counter()
    products = env["product.product"].create(
        [
            {"name": f"{name} {i}", "list_price": 10 + i % 90, "is_published": True, **values}
            for i in range(args.products)
        ]
    )
    env.flush_all()
    cr.commit()
    print(f"  {args.products:,} products in {time.perf_counter() - started:.1f} s")
    return base, products


def generate_shop(env, args):
    cr = env.cr
    base, products = contacts_and_products(env, args)
    for name in ("Retail", "VIP", "Wholesale"):
        env["product.pricelist"].create({"name": f"Bench {name}"})
    website = env["website"].search([], limit=1).id
    cr.execute("SELECT COALESCE(max(id), 0) FROM website_visitor")
    first_visitor = cr.fetchone()[0] + 1
    identified = int(args.visitors * args.identified)
    run_sql(
        cr,
        f"{args.visitors:,} visitors ({identified:,} signed in)",
        VISITORS_SQL,
        {"identified": identified, "base": base, "website": website, "n": args.visitors},
    )
    run_sql(
        cr,
        f"{args.views:,} page views",
        TRACKS_SQL,
        {
            "first_visitor": first_visitor,
            "visitors": args.visitors,
            "products": products.ids,
            "np": len(products),
            "n": args.views,
        },
    )
    run_sql(cr, "analyze", "ANALYZE website_track; ANALYZE website_visitor")


def create_db(args):
    subprocess.run(["dropdb", "--if-exists", "--force", args.db], check=True)
    subprocess.run(["createdb", "-T", args.template, args.db], check=True)


def upgrade(args):
    started = time.perf_counter()
    odoo_bin("-d", args.db, "-u", "sms_journey", "--stop-after-init", "--log-level=warn")
    print(f"  -u sms_journey in {time.perf_counter() - started:.1f} s")


PROFILE = False


def timed_on(cr, label, func):
    """Run ``func``; print its wall time, CPU time (this process + the database
    backend's, the machine being shared: wall time alone tells the load) and rows."""
    pg_before = backend_cpu(cr)
    cpu_before = time.process_time()
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    pg_cpu = backend_cpu(cr) - pg_before
    count = result[0] if isinstance(result, tuple) else len(result)
    print(f"{label:<60} {elapsed:6.3f} s {cpu:6.3f} s {pg_cpu:6.3f} s {count:>8,}", flush=True)
    return result


def journey_of(env, trigger, **values):
    template = env["sms.template"].create(
        {
            "name": "Bench",
            "model_id": env.ref("base.model_res_partner").id,
            "body": "{{ product }} {{ landing_url }}",
        }
    )
    return env["sms.journey"].create(
        dict(
            {
                "name": f"Bench {trigger}",
                "trigger": trigger,
                "step_ids": [(0, 0, {"action": "sms", "template_id": template.id})],
            },
            **values,
        )
    )


def measure(env, args):
    cr = env.cr

    def timed(label, func):
        return timed_on(cr, label, func)

    now = datetime.utcnow().replace(microsecond=0)
    since = now - timedelta(days=1)
    cr.execute("SELECT count(*), count(product_id) FROM website_track")
    views, product_views = cr.fetchone()
    cr.execute("SELECT count(*) FROM website_track WHERE visit_datetime > %s", [since])
    day = cr.fetchone()[0]
    cr.execute("SELECT count(*) FROM res_partner")
    print(f"\n{cr.fetchone()[0]:,} contacts, {views:,} page views ({product_views:,} of products)")
    print(f"{day:,} page views in the last day, load average {load_average()}\n")
    print(f"{'run over the last day':<60} {'wall':>8} {'py CPU':>8} {'pg CPU':>8} {'rows':>8}")

    browse = journey_of(env, "browse_abandonment", browse_idle_hours=2)
    browse.write({"state": "running", "date_start": since, "enrol_checked_at": since})
    timed(
        "browse abandonment: _candidates_browse_abandonment",
        lambda: (browse._candidates_browse_abandonment(since, now)),
    )
    hour = now - timedelta(hours=1)
    timed(
        "browse abandonment: _candidates_browse_abandonment, last hour",
        lambda: (browse._candidates_browse_abandonment(hour, now)),
    )
    # the day's run as the cron makes it: calls of its batch until the window is done
    rolled_back(env, lambda: print_calls("browse abandonment", cron_calls(cr, browse, now)))

    drop = journey_of(env, "price_drop", viewed_days=30, price_drop_percent=10)
    drop.write({"state": "running", "date_start": since, "enrol_checked_at": since})
    drop.enrol_checked_at = since - timedelta(minutes=1)
    timed("price drop, first run: baseline of 30 days of views", lambda: (drop._enrol(since, 500)))
    cr.execute("SELECT count(*) FROM sms_journey_price WHERE journey_id = %s", [drop.id])
    print(f"{'  prices recorded':<60} {'':>26} {cr.fetchone()[0]:>9,}")
    products = env["product.product"].search(
        [("name", "like", "Bench product")], order="id", limit=args.changed
    )
    for product in products:
        product.lst_price *= 0.8
    vip = env["product.pricelist"].search([("name", "=", "Bench VIP")])
    env["product.pricelist.item"].create(
        {
            "pricelist_id": vip.id,
            "applied_on": "0_product_variant",
            "product_id": products[-1].id,
            "compute_price": "percentage",
            "percent_price": 15,
        }
    )
    env.flush_all()
    later = now + timedelta(minutes=1)
    timed(
        f"price drop: _candidates_price_drop ({args.changed} cheaper)",
        lambda: (drop._candidates_price_drop(since, later)),
    )
    # as the cron: calls of its batch until the window is closed
    print_calls("price drop", cron_calls(cr, drop, later))
    print(f"load average {load_average()}")
    cr.rollback()


def load_average():
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def rolled_back(env, func):
    """Run ``func`` and roll its writes back (the ORM's cache with them)."""
    env.cr.execute("SAVEPOINT enrol")
    func()
    env.flush_all()
    env.cr.execute("ROLLBACK TO SAVEPOINT enrol")
    env.invalidate_all()


def cron_calls(cr, journey, now):
    """``journey``'s enrolment calls as the cron makes them (``_enrol(now, batch_size)``,
    the cron's default batch) until its window is done: [(created, remaining, wall, py
    CPU, pg CPU)]."""
    limit = inspect.signature(type(journey)._cron_enrol).parameters["batch_size"].default
    calls = [timed_call(cr, journey, now, limit)]
    while calls[-1][1]:
        calls.append(timed_call(cr, journey, now, limit))
    return calls


def timed_call(cr, journey, now, limit):
    """One enrolment call of ``journey`` as the cron makes it, its writes flushed as the
    cron's commit would, the ORM cache cleared as a new transaction starts with:
    (created, remaining, wall, py CPU, pg CPU)."""
    pg_before, cpu_before, started = backend_cpu(cr), time.process_time(), time.perf_counter()
    profile = cProfile.Profile() if PROFILE else None
    if profile:
        profile.enable()
    created, remaining = journey._enrol(now, limit)
    journey.env.flush_all()
    journey.env.invalidate_all()
    if profile:
        profile.disable()
        PROFILES.append(profile)
    return (
        created,
        remaining,
        time.perf_counter() - started,
        time.process_time() - cpu_before,
        backend_cpu(cr) - pg_before,
    )


PROFILES = []


def print_calls(name, calls):
    """A trigger's cron calls until its window is done: the first (the scan and a
    chunk), the second, the slowest of the others, the total; with ``--profile``, the
    cProfile of all the calls together."""
    others = calls[2:]
    slowest = max(others, key=lambda c: c[3] + c[4]) if others else None
    lines = [
        (f"{name}: _enrol, 1st call (the scan, as the cron)", calls[0]),
        (f"{name}: _enrol, 2nd call", calls[1] if len(calls) > 1 else None),
        (f"{name}: _enrol, slowest of calls 3-{len(calls)}", slowest),
    ]
    for label, row in lines:
        if row:
            print(f"{label:<60} {row[2]:6.3f} s {row[3]:6.3f} s {row[4]:6.3f} s {row[0]:>8,}")
    created = sum(c[0] for c in calls)
    wall, cpu, pg = (sum(c[i] for c in calls) for i in (2, 3, 4))
    label = f"{name}: _enrol, all {len(calls)} calls (the day's run)"
    print(f"{label:<60} {wall:6.3f} s {cpu:6.3f} s {pg:6.3f} s {created:>8,}", flush=True)
    if PROFILES:
        stats = pstats.Stats(PROFILES[0])
        for profile in PROFILES[1:]:
            stats.add(profile)
        stats.sort_stats("tottime").print_stats(30)
        PROFILES.clear()


def main():
    global PROFILE
    args = parse_args()
    PROFILE = args.profile
    if not (args.keep and db_exists(args.db)):
        print(f"creating {args.db} from {args.template}", flush=True)
        create_db(args)
        fresh = True
    else:
        fresh = False
    sys.path.insert(0, ODOO_SRC)
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [f"--addons-path={ADDONS_PATH}", "-d", args.db, "--log-level=warn"]
    )
    if fresh:
        upgrade(args)
        with Registry(args.db).cursor() as cr:
            print(f"generating data in {args.db}", flush=True)
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            generate_shop(env, args)
            cr.commit()
            # the indexes of an upgrade on this history (a lock on website_track meanwhile)
            cr.execute(
                "DROP INDEX website_track_product_visit_sms_index, "
                "website_track_product_viewer_sms_index"
            )
            started = time.perf_counter()
            env["website.track"].init()
            print(f"  page-view indexes created in {time.perf_counter() - started:.1f} s")
            cr.commit()
    # the participants each run inserts and rolls back leave dead rows in the table and
    # its indexes: vacuumed, each run starts from the same table
    subprocess.run(
        ["psql", "-d", args.db, "-qc", "VACUUM ANALYZE sms_journey_participant"], check=True
    )
    registry = Registry(args.db)
    with registry.cursor() as cr:
        measure(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), args)


if __name__ == "__main__":
    main()
