#!/usr/bin/env python3
"""The back-in-stock trigger (sms_journey_website_sale_stock) over a day's stock changes.

Generates, in a scratch database copied from a database with sms_journey, the bridge and
website_sale_stock installed (``--template``, default ``i18n10``): contacts and orders
(``bench_audience.generate``), ``--products`` storable products (ORM), a year of stock
history in SQL (a receipt per product, ``--history`` deliveries spread over the year,
the quants they leave: ``--out-of-stock`` products at 0), the waiting lists (``--waiting``
rows, half on the shop's "notify me" list ``stock_notification_product_partner_rel``,
half open ``sms.back.in.stock.request``\\ s, from a pool of ``--waiters`` contacts:
several per contact; 90 % on sold-out products, the rest stale ones on products in
stock) and the day's ordinary moves (``--day-moves`` deliveries of products in stock
over the last 24 hours). Then "a day's changes": ``--back`` sold-out products come back
by an inventory adjustment, as Odoo applies it (``stock.quant`` in inventory mode,
``action_apply_inventory``: a done move and the quant), their moves' dates then spread
over the last day in SQL (one adjustment each hour or so, not all in the same second).

Times, in process, over the last day (``since = now - 1 day``): the candidates query
(``_candidates_back_in_stock``; also over the last 15 minutes, the enrolment cron's
interval), the whole enrolment at once (``_enrol``, rolled back),
then as the cron runs it: ``_enrol(now, 500)`` until nothing remains, each call's writes
flushed and the ORM cache cleared (the cron's commit and next transaction): the first
call, the second, the slowest of the others and the total. Target: the day's run ≤ 2 s.

Each line prints the wall time, this process's CPU time and the CPU time of the
PostgreSQL backend serving the cursor (bench_behaviour.py's ``timed_on``). ``--profile``
prints a cProfile of each ``_enrol``. Figures: bench/README.md, "Back in stock".

    createdb -T i18n10 sj_bench_stock_tpl   # or any database with the bridge installed
    ~/.cache/sms_journey/venv-*/bin/python bench/bench_back_in_stock.py --template i18n10
    # again on the same data (the day's changes are made again, later):
    ~/.cache/sms_journey/venv-*/bin/python bench/bench_back_in_stock.py --keep
"""

import time
from datetime import datetime, timedelta

import bench_behaviour
from _odoo import ADDONS_PATH, ODOO_SRC, db_exists, odoo_bin
from bench_audience import generated_data_parser, print_sizes
from bench_behaviour import (
    contacts_and_products,
    cron_calls,
    journey_of,
    print_calls,
    rolled_back,
    run_sql,
    timed_on,
)

BRIDGE = "sms_journey,sms_journey_website_sale_stock"


def parse_args():
    parser = generated_data_parser(__doc__, "sj_bench_stock", orders=300_000, template="i18n10")
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--out-of-stock", type=int, default=500)
    parser.add_argument("--back", type=int, default=150, help="products back in stock today")
    parser.add_argument("--waiting", type=int, default=100_000, help="open requests, both lists")
    parser.add_argument("--waiters", type=int, default=30_000, help="contacts who wait")
    parser.add_argument("--history", type=int, default=300_000, help="deliveries over a year")
    parser.add_argument("--day-moves", type=int, default=3_000, help="deliveries of the day")
    parser.add_argument("--profile", action="store_true", help="cProfile each _enrol run")
    return parser.parse_args()


MOVE_COLUMNS = """(name, product_id, product_uom, product_uom_qty, product_qty, quantity,
                   location_id, location_dest_id, company_id, state, date, procure_method,
                   picked, create_date, write_date, create_uid, write_uid)"""
# deliveries of one unit each, spread over ``(start, start + span)`` days ago (older first);
# products in stock only when ``in_stock`` (the sold-out ones sold out before)
DELIVERIES_SQL = f"""
INSERT INTO stock_move {MOVE_COLUMNS}
SELECT 'Bench delivery', (%(products)s)[1 + (g::bigint * 7919) %% %(np)s], 1, 1, 1, 1,
       %(stock)s, %(customers)s, %(company)s, 'done',
       (now() at time zone 'utc') - make_interval(secs => (%(start)s * 86400
           + (%(n)s - g)::bigint * %(span)s * 86400 / %(n)s)::int),
       'make_to_stock', TRUE, now() at time zone 'utc', now() at time zone 'utc', 1, 1
  FROM generate_series(1, %(n)s) AS g
"""
# a receipt per product a year ago: what its deliveries took, plus what is left
# (20-69 units in stock; 0 for the sold-out ones)
RECEIPTS_SQL = f"""
INSERT INTO stock_move {MOVE_COLUMNS}
SELECT 'Bench receipt', p.id, 1, q.qty, q.qty, q.qty, %(suppliers)s, %(stock)s, %(company)s,
       'done', (now() at time zone 'utc') - interval '366 days', 'make_to_stock', TRUE,
       now() at time zone 'utc', now() at time zone 'utc', 1, 1
  FROM unnest(%(products)s::int[]) AS p(id),
       LATERAL (SELECT COALESCE((SELECT sum(quantity) FROM stock_move
                                  WHERE product_id = p.id AND location_id = %(stock)s), 0)
                       + CASE WHEN p.id = ANY(%(sold_out)s) THEN 0 ELSE 20 + p.id %% 50 END
                       AS qty) AS q
"""
QUANTS_SQL = """
INSERT INTO stock_quant (product_id, location_id, company_id, quantity, reserved_quantity,
                         in_date, create_date, write_date, create_uid, write_uid)
SELECT product_id, %(stock)s, %(company)s,
       sum(CASE WHEN location_dest_id = %(stock)s THEN quantity ELSE -quantity END), 0,
       now() at time zone 'utc', now() at time zone 'utc', now() at time zone 'utc', 1, 1
  FROM stock_move WHERE product_id = ANY(%(products)s) AND state = 'done'
 GROUP BY product_id
"""
# the waiting lists: row g is contact g mod --waiters (each contact several rows), its
# product picked by the round g / --waiters too, so that a contact's rows name different
# products (the second list with other multipliers: some pairs on both lists)
WAITING_PAIRS = """
SELECT g,
       CASE WHEN g %% 10 < 9
            THEN (%(sold_out)s)[1 + ((g::bigint * %(mul)s) %% %(waiters)s
                                      + (g / %(waiters)s) * 7) %% %(nso)s]
            ELSE (%(in_stock)s)[1 + ((g::bigint * %(mul)s) %% %(waiters)s
                                      + (g / %(waiters)s) * 7) %% %(nis)s] END AS product_id,
       %(base)s + 1 + g %% %(waiters)s AS partner_id
  FROM generate_series(%(first)s, %(first)s + %(n)s - 1) AS g
"""
NOTIFY_SQL = f"""
INSERT INTO stock_notification_product_partner_rel (product_product_id, res_partner_id)
SELECT product_id, partner_id FROM ({WAITING_PAIRS}) AS w
ON CONFLICT DO NOTHING
"""
REQUESTS_SQL = f"""
INSERT INTO sms_back_in_stock_request (partner_id, product_id, product_tmpl_id, company_id,
                                       source, requested_at, create_date, write_date,
                                       create_uid, write_uid)
SELECT w.partner_id, w.product_id, pp.product_tmpl_id, %(company)s, 'web',
       now() at time zone 'utc' - make_interval(days => (w.g %% 60)::int),
       now() at time zone 'utc', now() at time zone 'utc', 1, 1
  FROM ({WAITING_PAIRS}) AS w
  JOIN product_product pp ON pp.id = w.product_id
ON CONFLICT DO NOTHING
"""


def locations(env):
    company = env.company
    stock = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    return {
        "company": company.id,
        "stock": stock.lot_stock_id.id,
        "customers": env.ref("stock.stock_location_customers").id,
        "suppliers": env.ref("stock.stock_location_suppliers").id,
    }


def generate_stock(env, args):
    cr = env.cr
    base, products = contacts_and_products(env, args, "Bench stock product", is_storable=True)
    ids = products.ids
    # every fourth product sold out, up to --out-of-stock of them
    sold_out = ids[::4][: args.out_of_stock]
    in_stock = sorted(set(ids) - set(sold_out))
    where = locations(env)
    history = dict(where, n=args.history, start=1, span=364)
    run_sql(
        cr,
        f"{args.history:,} deliveries over a year",
        DELIVERIES_SQL,
        dict(history, products=ids, np=len(ids)),
    )
    run_sql(
        cr,
        "a receipt per product",
        RECEIPTS_SQL,
        dict(where, products=ids, sold_out=sold_out),
    )
    day = dict(where, n=args.day_moves, start=0, span=1, products=in_stock, np=len(in_stock))
    run_sql(cr, f"{args.day_moves:,} deliveries of the day", DELIVERIES_SQL, day)
    run_sql(cr, "quants", QUANTS_SQL, dict(where, products=ids))
    lists = {
        "sold_out": sold_out,
        "nso": len(sold_out),
        "in_stock": in_stock,
        "nis": len(in_stock),
        "base": base,
        "waiters": args.waiters,
        "n": args.waiting // 2,
        "company": where["company"],
    }
    run_sql(cr, "'notify me' list", NOTIFY_SQL, dict(lists, first=1, mul=7919))
    second = dict(lists, first=1 + args.waiting // 2, mul=104729)
    run_sql(cr, "SMS back-in-stock requests", REQUESTS_SQL, second)
    run_sql(
        cr,
        "analyze",
        "ANALYZE stock_move; ANALYZE stock_quant; ANALYZE sms_back_in_stock_request; "
        "ANALYZE stock_notification_product_partner_rel",
    )


def back_in_stock(env, args, now):
    """``--back`` sold-out products with waiters come back by an inventory adjustment
    (Odoo's own path), their moves then dated over the last day, one after the other."""
    cr = env.cr
    cr.execute(
        """SELECT q.product_id FROM stock_quant q
            WHERE q.location_id = %s AND q.quantity <= 0
              AND EXISTS (SELECT 1 FROM sms_back_in_stock_request r
                           WHERE r.product_id = q.product_id AND r.notified_at IS NULL)
            ORDER BY q.product_id LIMIT %s""",
        [locations(env)["stock"], args.back],
    )
    product_ids = [row[0] for row in cr.fetchall()]
    stock = env["stock.location"].browse(locations(env)["stock"])
    started = time.perf_counter()
    quants = env["stock.quant"].with_context(inventory_mode=True)
    for product_id in product_ids:
        quants.create(
            {"product_id": product_id, "location_id": stock.id, "inventory_quantity": 12}
        ).action_apply_inventory()
    env.flush_all()
    print(f"  {len(product_ids)} inventory adjustments in {time.perf_counter() - started:.1f} s")
    cr.execute(
        """UPDATE stock_move m SET date = %s - make_interval(secs => (n.k * 86000 / %s)::int)
             FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM stock_move
                    WHERE product_id = ANY(%s) AND date > %s - interval '1 minute'
                      AND is_inventory) AS n
            WHERE m.id = n.id""",
        [now, len(product_ids) or 1, product_ids, now],
    )
    cr.execute("ANALYZE stock_move")
    env.invalidate_all()
    return product_ids


def measure(env, args):
    cr = env.cr
    now = datetime.utcnow().replace(microsecond=0)
    since = now - timedelta(days=1)
    came_back = back_in_stock(env, args, now)
    print_sizes(cr)
    cr.execute(
        """SELECT (SELECT count(*) FROM product_product),
                  (SELECT count(*) FROM stock_quant WHERE quantity <= 0),
                  (SELECT count(*) FROM stock_notification_product_partner_rel),
                  (SELECT count(*) FROM sms_back_in_stock_request WHERE notified_at IS NULL),
                  (SELECT count(*) FROM stock_move),
                  (SELECT count(*) FROM stock_move WHERE state = 'done' AND date > %s)""",
        [since],
    )
    products, sold_out, notify, requests, moves, day = cr.fetchone()
    print(
        f"{products:,} products ({sold_out:,} sold out, {len(came_back)} back today); "
        f"waiting: {notify:,} 'notify me' + {requests:,} open SMS requests; "
        f"{moves:,} stock moves, {day:,} done in the last day\n"
    )
    print(f"{'run over the last day':<60} {'wall':>8} {'py CPU':>8} {'pg CPU':>8} {'rows':>8}")
    journey = journey_of(env, "back_in_stock")
    journey.write({"state": "running", "date_start": since, "enrol_checked_at": since})
    env.flush_all()
    timed_on(
        cr,
        "back in stock: _candidates_back_in_stock",
        lambda: journey._candidates_back_in_stock(since, now),
    )
    # the cron runs every 15 minutes: its usual window holds a product or two
    quarter = now - timedelta(minutes=15)
    timed_on(
        cr,
        "back in stock: _candidates_back_in_stock, last 15 minutes",
        lambda: journey._candidates_back_in_stock(quarter, now),
    )
    at_once = "back in stock: _enrol (everything at once)"
    env.invalidate_all()  # not the candidates' quantities and lists from the cache
    rolled_back(env, lambda: timed_on(cr, at_once, lambda: journey._enrol(now, 10**7)))
    # as the cron: calls of its batch until the window is closed
    print_calls("back in stock", cron_calls(cr, journey, now))
    cr.rollback()


def main():
    args = parse_args()
    bench_behaviour.PROFILE = args.profile
    fresh = not (args.keep and db_exists(args.db))
    if fresh:
        print(f"creating {args.db} from {args.template}", flush=True)
        bench_behaviour.create_db(args)
    import sys

    sys.path.insert(0, ODOO_SRC)
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [f"--addons-path={ADDONS_PATH}", "-d", args.db, "--log-level=warn"]
    )
    if fresh:
        started = time.perf_counter()
        odoo_bin("-d", args.db, "-u", BRIDGE, "--stop-after-init", "--log-level=warn")
        print(f"  -u {BRIDGE} in {time.perf_counter() - started:.1f} s")
        with Registry(args.db).cursor() as cr:
            print(f"generating data in {args.db}", flush=True)
            generate_stock(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), args)
            cr.commit()
    with Registry(args.db).cursor() as cr:
        measure(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), args)


if __name__ == "__main__":
    main()
