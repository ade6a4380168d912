#!/usr/bin/env python3
"""Audience queries of the SMS journeys on a large database.

Generates partners and confirmed/draft/cancelled sale orders with SQL ``generate_series``
in a scratch database, fills the customer facts with ``_sms_recompute_activity_facts``
and times, side by side:

(a) what one would write with the ORM: ``_read_group`` of the last confirmed order per
    partner, then a Python filter for 90 days of inactivity;
(b) the daily inactivity pass: ``_sms_inactive_crossing_ids(today - 91, today - 90)``;
(c) the daily birthday pass: ``_sms_birthday_ids(today)``.

For each: wall time, peak Python memory (tracemalloc, second run) and growth of the
process' peak RSS (includes libpq result buffers, which tracemalloc does not see), and
the number of ids found. Target for (b) and (c): at most 0.5 s and under 200 MB.

The scratch database is created from a template database that has sms_journey
installed (``--template``, fastest) or by installing sms_journey; ``--keep`` reuses it
with its data. Odoo runs in-process from ``$ODOO_SRC`` (default /opt/odoo18)::

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_audience.py --template sj_f
"""

import argparse
import gc
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import date, datetime, timedelta

import psycopg2

ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo18")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS_PATH = f"{ODOO_SRC}/odoo/addons,{REPO}"


def print_sizes(cr):
    """Say how many contacts and orders the bench runs on."""
    cr.execute("SELECT (SELECT count(*) FROM res_partner), (SELECT count(*) FROM sale_order)")
    partners, orders = cr.fetchone()
    print(f"\n{partners:,} partners, {orders:,} sale orders\n")


def generated_data_parser(doc, db, orders=3_000_000, template=None):
    """The arguments of a bench on contacts and orders made by ``generate``: its scratch
    database, the database to copy, reuse, and how many contacts and orders."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", default=db, help=f"scratch database (default {db})")
    parser.add_argument(
        "--template", default=template, help="database with sms_journey installed to copy"
    )
    parser.add_argument("--keep", action="store_true", help="reuse the database and its data")
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=orders)
    return parser


def parse_args():
    parser = generated_data_parser(__doc__, "sj_bench")
    parser.add_argument("--inactivity-days", type=int, default=90)
    return parser.parse_args()


def admin_connection():
    connection = psycopg2.connect(dbname="postgres")
    connection.autocommit = True
    return connection


def database_exists(name):
    with admin_connection() as connection, connection.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def create_database(args):
    connection = admin_connection()
    with connection.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        if args.template:
            print(f"creating {args.db} from template {args.template}")
            cr.execute(f'CREATE DATABASE "{args.db}" TEMPLATE "{args.template}"')
    connection.close()
    if not args.template:
        print(f"installing sms_journey in {args.db} (about a minute)")
        subprocess.run(
            [
                sys.executable,
                f"{ODOO_SRC}/odoo-bin",
                f"--addons-path={ADDONS_PATH}",
                "-d",
                args.db,
                "-i",
                "sms_journey",
                "--without-demo=all",
                "--stop-after-init",
                "--log-level=warn",
                "--http-port=0",
            ],
            check=True,
        )


# Data: individuals, and every 100th partner a company whose contacts are the multiples
# of 10 among the next 99. 60 % have a birth date spread over 55 years (29 Feb included).
# Orders go to pseudo-random partners over the last three years: 85 % confirmed, 10 %
# quotes, 5 % cancelled. Multiplicative hashing keeps the data reproducible.
# Without sms_journey installed (bench_install.py's template) its columns are left out.
PARTNERS_SQL = """
INSERT INTO res_partner (id, name, complete_name, active, type, is_company,
                         parent_id, commercial_partner_id, autopost_bills,
                         create_date, write_date{journey_columns})
SELECT %(base)s + i,
       'Bench partner ' || i, 'Bench partner ' || i,
       TRUE, 'contact', i %% 100 = 1,
       CASE WHEN i %% 10 = 0 THEN %(base)s + ((i - 1) / 100) * 100 + 1 END,
       CASE WHEN i %% 10 = 0 THEN %(base)s + ((i - 1) / 100) * 100 + 1 ELSE %(base)s + i END,
       'ask', now(), now(){journey_values}
  FROM generate_series(1, %(n)s) AS i
"""
JOURNEY_COLUMNS = ", journey_stage, sms_consent_state, birthdate_date"
JOURNEY_VALUES = """, 'first_contact', 'unknown',
       CASE WHEN i %% 5 < 3 THEN date '1950-01-01' + ((i::bigint * 7919) %% 20089)::int END"""
# With sale_stock installed (bench_back_in_stock.py) its required picking policy is set.
ORDERS_SQL = """
INSERT INTO sale_order (name, partner_id, partner_invoice_id, partner_shipping_id,
                        company_id, date_order, state, create_date, write_date{stock_columns})
SELECT 'BENCH' || j, p, p, p, %(company)s,
       now()::timestamp - make_interval(mins => ((j::bigint * 7907) %% (3 * 365 * 1440))::int),
       CASE WHEN j %% 20 < 17 THEN 'sale' WHEN j %% 20 < 19 THEN 'draft' ELSE 'cancel' END,
       now(), now(){stock_values}
  FROM (SELECT j, %(base)s + 1 + ((j::bigint * 104729) %% %(partners)s)::int AS p
          FROM generate_series(1, %(n)s) AS j) AS g
"""


def generate(cr, partners, orders):
    """Insert ``partners`` contacts and ``orders`` sale orders (psycopg2 or Odoo cursor)."""
    cr.execute("SELECT COALESCE(max(id), 0) FROM res_partner")
    base = cr.fetchone()[0]
    cr.execute("SELECT id FROM res_company ORDER BY id LIMIT 1")
    company = cr.fetchone()[0]
    cr.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'res_partner' AND column_name = 'journey_stage'"
    )
    journey = bool(cr.fetchone())
    cr.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'sale_order' AND column_name = 'picking_policy'"
    )
    stock = bool(cr.fetchone())
    orders_sql = ORDERS_SQL.format(
        stock_columns=", picking_policy" if stock else "",
        stock_values=", 'direct'" if stock else "",
    )
    partners_sql = PARTNERS_SQL.format(
        journey_columns=JOURNEY_COLUMNS if journey else "",
        journey_values=JOURNEY_VALUES if journey else "",
    )
    started = time.perf_counter()
    cr.execute(partners_sql, {"base": base, "n": partners})
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base + partners])
    print(f"  {partners:,} partners in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    cr.execute(orders_sql, {"base": base, "n": orders, "partners": partners, "company": company})
    print(f"  {orders:,} sale orders in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE sale_order")
    print(f"  analyze in {time.perf_counter() - started:.1f} s", flush=True)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label, func):
    """Time ``func`` (plain run), then its Python peak memory (traced run)."""
    gc.collect()
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    rss_growth = peak_rss_mb() - rss_before
    del result
    gc.collect()
    tracemalloc.start()
    result = func()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {
        "label": label,
        "seconds": elapsed,
        "python_peak_mb": peak / 2**20,
        "rss_peak_growth_mb": rss_growth,
        "ids": len(result),
    }
    print(
        f"{label:<58} {elapsed:8.3f} s {row['python_peak_mb']:9.1f} MB "
        f"{rss_growth:9.1f} MB {len(result):9,}"
    )
    return row


def explain(cr, query, params):
    cr.execute("EXPLAIN " + query, params)
    return " / ".join(line for (line,) in cr.fetchall()[:3]).replace("  ", "")


def main():
    args = parse_args()
    if not (args.keep and database_exists(args.db)):
        create_database(args)
        fresh = True
    else:
        print(f"reusing {args.db}")
        fresh = False

    sys.path.insert(0, ODOO_SRC)
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [f"--addons-path={ADDONS_PATH}", "-d", args.db, "--log-level=warn"]
    )
    registry = Registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        Partner = env["res.partner"]
        cr.execute("SELECT count(*) FROM sale_order WHERE name LIKE 'BENCH%%'")
        if fresh or not cr.fetchone()[0]:
            print(f"generating data in {args.db}")
            generate(cr, args.partners, args.orders)
            started = time.perf_counter()
            count = Partner._sms_recompute_activity_facts()
            print(
                f"  backfill _sms_recompute_activity_facts(): {count:,} partners in "
                f"{time.perf_counter() - started:.1f} s"
            )
            cr.execute("ANALYZE res_partner")
            cr.commit()
        print_sizes(cr)

        today = date.today()
        threshold = args.inactivity_days
        limit = datetime.combine(today - timedelta(days=threshold), datetime.min.time())

        def orm_read_group():
            env.invalidate_all()
            groups = env["sale.order"]._read_group(
                [("state", "=", "sale")], ["partner_id"], ["date_order:max"]
            )
            return [partner.id for partner, last in groups if last < limit]

        def crossing():
            return Partner._sms_inactive_crossing_ids(
                today - timedelta(days=threshold + 1), today - timedelta(days=threshold)
            )

        def birthdays():
            return Partner._sms_birthday_ids(today)

        print(f"{'pass':<58} {'time':>10} {'py peak':>12} {'rss peak+':>12} {'ids':>9}")
        # Cheapest first: the process' peak RSS only grows.
        rows = [
            measure("(b) _sms_inactive_crossing_ids(today-91, today-90)", crossing),
            measure("(c) _sms_birthday_ids(today)", birthdays),
            measure(f"(a) _read_group last order + filter >= {threshold} days", orm_read_group),
        ]
        print()
        print(
            "plan (b):",
            explain(
                cr,
                "SELECT id FROM res_partner WHERE last_activity_date > %s "
                "AND last_activity_date <= %s AND active",
                [today - timedelta(days=threshold + 1), today - timedelta(days=threshold)],
            ),
        )
        print(
            "plan (c):",
            explain(
                cr,
                "SELECT id FROM res_partner WHERE ((EXTRACT(MONTH FROM birthdate_date) * 100 "
                "+ EXTRACT(DAY FROM birthdate_date))::int) = ANY(%s) "
                "AND birthdate_date IS NOT NULL AND birthdate_date < %s AND active",
                [[today.month * 100 + today.day], today],
            ),
        )
        ok = all(row["seconds"] <= 0.5 and row["rss_peak_growth_mb"] < 200 for row in rows[:2])
        print(f"\ntarget (b), (c) <= 0.5 s and < 200 MB: {'met' if ok else 'NOT met'}")
        cr.rollback()


if __name__ == "__main__":
    main()
