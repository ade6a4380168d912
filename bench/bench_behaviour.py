#!/usr/bin/env python3
"""The behaviour triggers (browse abandonment, price drop) on a large shop history.

Generates, in a scratch database copied from a database with sms_journey installed
(``--template``): contacts and orders (``bench_audience.generate``), products, three
pricelists, identified and anonymous website visitors and page views spread over the
last 30 days (``--views``, most of them product pages), in SQL. Then upgrades
sms_journey from this checkout (its indexes on ``website_track`` are created then: the
time is printed) and times, in process, each trigger's run over the last day
(``since = now - 1 day``): the candidates query (``_candidates_<trigger>``) and the
whole enrolment pass of a running journey (``_enrol``: candidates, filters, one INSERT
of the participants; rolled back), as the enrolment cron runs it.

Price drop runs twice: a first run that only records the prices of the viewed products
(its baseline over ``viewed_days``), then, after ``--changed`` products got cheaper and
a pricelist rule changed, the day's run that finds the drops: at once (rolled back: what
one pass costs), then as the cron runs it, 500 candidates per call, the window pending
between calls (each call's writes flushed and the ORM cache cleared, as the cron's commit
and next transaction): the first call (the scan and 500), the second, the slowest of the
others and the total of the calls. Target: each run ≤ 2 s.

Each line prints the wall time, this process's CPU time and the CPU time of the
PostgreSQL backend serving the cursor (``/proc/<pg_backend_pid()>/stat``; a parallel
query's workers are not counted): on a shared machine the wall time mostly tells the
load. ``--profile`` prints a cProfile of each ``_enrol``. Measured 2026-12-07 (load
average 8-10 on 2 cores; bench/README.md, "Behaviour triggers' day run"), CPU
(Python + backend): browse abandonment candidates 0.93 s (was 2.0 s), its ``_enrol``
of 500 as the cron 1.4 s (was 2.9 s); price drop candidates 1.6 s (was 2.5 s), its
``_enrol`` of 31,800 contacts at once 7.0 s (was 9.5 s; the INSERT of the participants
alone ≈ 2.1 s of backend CPU). Price drop in chunks (07:25, load average 2): the cron's
first call 0.80 s CPU, the next ones 0.05-0.15 s, 64 calls 4.5 s in all (at once in the
same run: 3.1 s).

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_behaviour.py --template lead9
    # again on the same data, after ``-u sms_journey`` of the database with this checkout:
    ~/.cache/sms_journey/venv-*/bin/python bench/bench_behaviour.py --db sj_bench_behaviour --keep
"""

import cProfile
import os
import pstats
import subprocess
import sys
import time
from datetime import datetime, timedelta

from _odoo import ADDONS_PATH, ODOO_SRC, db_exists, odoo_bin
from bench_audience import generate, generated_data_parser


def parse_args():
    parser = generated_data_parser(__doc__, "sj_bench_behaviour", orders=300_000, template="lead9")
    parser.add_argument("--views", type=int, default=5_000_000)
    parser.add_argument("--visitors", type=int, default=400_000)
    parser.add_argument("--identified", type=float, default=0.5, help="share of visitors")
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--changed", type=int, default=50, help="products cheaper today")
    parser.add_argument("--profile", action="store_true", help="cProfile each _enrol run")
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


def backend_cpu(cr):
    """CPU seconds (user + system) of the PostgreSQL backend serving ``cr``."""
    cr.execute("SELECT pg_backend_pid()")
    with open(f"/proc/{cr.fetchone()[0]}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_on(cr, label, func):
    """Run ``func``; print its wall time, CPU time (this process + the database
    backend's, the machine being shared: wall time alone tells the load) and rows."""
    pg_before = backend_cpu(cr)
    cpu_before = time.process_time()
    started = time.perf_counter()
    profile = cProfile.Profile() if PROFILE and "_enrol" in label else None
    result = profile.runcall(func) if profile else func()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    pg_cpu = backend_cpu(cr) - pg_before
    count = result[0] if isinstance(result, tuple) else len(result)
    print(f"{label:<60} {elapsed:6.3f} s {cpu:6.3f} s {pg_cpu:6.3f} s {count:>8,}", flush=True)
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
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
    print(f"{day:,} page views in the last day\n")
    print(f"{'run over the last day':<60} {'wall':>8} {'py CPU':>8} {'pg CPU':>8} {'rows':>8}")

    browse = journey_of(env, "browse_abandonment", browse_idle_hours=2)
    browse.write({"state": "running", "date_start": since, "enrol_checked_at": since})
    timed(
        "browse abandonment: _candidates_browse_abandonment",
        lambda: (browse._candidates_browse_abandonment(since, now)),
    )
    timed("browse abandonment: _enrol (limit 500, as the cron)", lambda: browse._enrol(now, 500))
    hour = now - timedelta(hours=1)
    timed(
        "browse abandonment: _candidates_browse_abandonment, last hour",
        lambda: (browse._candidates_browse_abandonment(hour, now)),
    )
    rolled_back(
        env,
        lambda: timed(
            "browse abandonment: _enrol (everything at once)", lambda: (browse._enrol(now, 10**7))
        ),
    )

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
    rolled_back(
        env,
        lambda: timed("price drop: _enrol (everything at once)", lambda: drop._enrol(later, 10**7)),
    )
    # as the cron: 500 candidates per call, the window pending between calls
    calls = [timed_call(cr, drop, later)]
    while calls[-1][1]:
        calls.append(timed_call(cr, drop, later))
    print_calls(calls, "price drop")
    cr.rollback()


def rolled_back(env, func):
    """Run ``func`` and roll its writes back (the ORM's cache with them)."""
    env.cr.execute("SAVEPOINT enrol")
    func()
    env.flush_all()
    env.cr.execute("ROLLBACK TO SAVEPOINT enrol")
    env.invalidate_all()


def timed_call(cr, journey, now):
    """One enrolment call of ``journey`` as the cron makes it (limit 500), its writes
    flushed as the cron's commit would, the ORM cache cleared as a new transaction
    starts with: (created, remaining, wall, py CPU, pg CPU)."""
    pg_before, cpu_before, started = backend_cpu(cr), time.process_time(), time.perf_counter()
    created, remaining = journey._enrol(now, 500)
    journey.env.flush_all()
    journey.env.invalidate_all()
    return (
        created,
        remaining,
        time.perf_counter() - started,
        time.process_time() - cpu_before,
        backend_cpu(cr) - pg_before,
    )


def print_calls(calls, trigger):
    """A trigger's cron calls until its window is closed: the first (the scan and
    500), the second, the slowest of the others, the total."""
    others = calls[2:]
    slowest = max(others, key=lambda c: c[3] + c[4]) if others else None
    lines = [
        (f"{trigger}: _enrol, 1st call (scan + 500, as the cron)", calls[0]),
        (f"{trigger}: _enrol, 2nd call (500 more)", calls[1] if len(calls) > 1 else None),
        (f"{trigger}: _enrol, slowest of calls 3-{len(calls)}", slowest),
    ]
    for label, row in lines:
        if row:
            print(f"{label:<60} {row[2]:6.3f} s {row[3]:6.3f} s {row[4]:6.3f} s {row[0]:>8,}")
    created = sum(c[0] for c in calls)
    wall, cpu, pg = (sum(c[i] for c in calls) for i in (2, 3, 4))
    label = f"{trigger}: _enrol, all {len(calls)} calls"
    print(f"{label:<60} {wall:6.3f} s {cpu:6.3f} s {pg:6.3f} s {created:>8,}", flush=True)


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
    registry = Registry(args.db)
    with registry.cursor() as cr:
        measure(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), args)


if __name__ == "__main__":
    main()
