#!/usr/bin/env python3
"""Each customer's rhythm on a large database: the recompute of every contact's order gap
and predicted next order, and the daily *Due to reorder* pass.

Generates partners and sale orders with bench_audience.py's SQL (``--partners``,
``--orders``; 1,000,000 and 3,000,000 by default) in a scratch database copied from a
template with this checkout's sms_journey installed (``--template``), then times:

(a) the priors (``_sms_rhythm_update_priors``: per category and company, from every
    confirmed order, one sort of the orders by partner and date);
(b) every contact's rhythm as the backfill computes it: staged in one reading of the
    orders (``_sms_rhythm_stage``: the contacts whose rhythm changes, in an unlogged
    table), then written by the backfill's ranges of ``BACKFILL_BATCH`` ids, each
    committed (``_sms_recompute_rhythm_facts(id_range=…)``): staging, writing, slowest
    range, and (a)+(b) together. Target: ≤ 60 s at 1 M contacts / 3 M orders;
(c) the same in one transaction (``_sms_recompute_rhythm_facts()``), for comparison;
    ``--steady`` runs (a)+(b) again on computed facts instead (nothing to write);
(d) the daily trigger pass (``_candidates_due_to_reorder`` over one day) and its plan;
(e) a check: the SQL's gap, source and predicted day equal ``tools/rhythm.py``'s for
    1,000 individual contacts (no contacts of their own);
(f) ``--follow`` instead of (a)-(e): the weekly priors cron's walk of the contacts with
    one order day (``_sms_rhythm_follow_priors``, batches of 2,000 ids, each committed),
    with no prior changed (nothing to write), then after the company's prior moved by
    3 days (every one-order contact without a category prior written), then back (every
    one written again). The facts are computed first if they are not.

Each line gives the wall time, this process's CPU (``time.process_time()``) and the
CPU of the PostgreSQL backend (``/proc/<pg_backend_pid()>/stat``, utime + stime; the
plans use no parallel workers).

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_rhythm.py --db h3big --keep
    ~/.cache/sms_journey/venv-*/bin/python bench/bench_rhythm.py --db sj_bench_stock --keep --follow
"""

import os
import sys
import time
from datetime import date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _odoo import load_registry
from bench_audience import (
    create_database,
    database_exists,
    explain,
    generate,
    generated_data_parser,
    print_sizes,
)


def parse_args():
    parser = generated_data_parser(__doc__, "sj_bench_rhythm")
    parser.add_argument("--skip-single", action="store_true", help="skip (c)")
    parser.add_argument(
        "--steady", action="store_true", help="only (b) again on computed facts, then (d), (e)"
    )
    parser.add_argument("--follow", action="store_true", help="only (f)")
    return parser.parse_args()


def cpu_seconds(pid):
    """utime + stime of process ``pid`` (the PostgreSQL backend), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label, func, backend=None):
    """Run ``func``; print its wall time, this process's CPU and, with ``backend`` (the
    PostgreSQL backend's pid), the backend's CPU. Returns (result, wall seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    pg_cpu = cpu_seconds(backend) if backend else 0.0
    result = func()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    pg_cpu = (cpu_seconds(backend) - pg_cpu) if backend else 0.0
    print(
        f"{label:<58} {elapsed:>7.1f} s wall, CPU {cpu:.1f} s Python + {pg_cpu:.1f} s PostgreSQL",
        flush=True,
    )
    return result, elapsed


def batched(env, batch, backend):
    """(b): the rhythm staged in one reading of the orders, then written by the ranges of
    ``batch`` ids the backfill walks, each committed; returns (staged, written, slowest)."""
    cr = env.cr
    Partner = env["res.partner"]
    staged, _elapsed = timed(
        "    priors and staging (one reading of the orders)",
        lambda: Partner._sms_rhythm_stage(priors=True),
        backend,
    )
    cr.commit()
    cr.execute("SELECT min(id), max(id) FROM res_partner")
    first, last = cr.fetchone()
    updated, slowest = 0, 0.0
    started, pg_cpu = time.perf_counter(), cpu_seconds(backend)
    next_id = first
    while next_id <= last:
        until = min(next_id + batch - 1, last)
        batch_started = time.perf_counter()
        updated += Partner._sms_recompute_rhythm_facts(id_range=(next_id, until))
        cr.commit()
        slowest = max(slowest, time.perf_counter() - batch_started)
        next_id = until + 1
    print(
        f"    writing by id ranges: {time.perf_counter() - started:.1f} s wall,"
        f" CPU {cpu_seconds(backend) - pg_cpu:.1f} s PostgreSQL"
    )
    Partner._sms_rhythm_unstage()
    cr.commit()
    return staged, updated, slowest


def every_contact(env, backend, label):
    """(a) alone (rolled back), then (b): every contact's rhythm recomputed."""
    from odoo.addons.sms_journey.models.res_partner_facts_backfill import BACKFILL_BATCH

    Partner = env["res.partner"]
    timed("(a) _sms_rhythm_update_priors() alone", Partner._sms_rhythm_update_priors, backend)
    env.cr.rollback()
    (staged, updated, slowest), _elapsed = timed(
        f"(b) {label}, ranges of {BACKFILL_BATCH} ids",
        lambda: batched(env, BACKFILL_BATCH, backend),
        backend,
    )
    print(f"    {staged:,} contacts staged, {updated:,} written, slowest range {slowest:.2f} s")


def check(env, rhythm_tools, sample=1000):
    """(e): SQL against tools/rhythm.py on individual contacts with orders."""
    cr = env.cr
    cr.execute(
        """SELECT p.id, p.sms_order_gap_days, p.sms_order_gap_source,
                  p.sms_next_order_predicted, array_agg(so.date_order)
             FROM res_partner p JOIN sale_order so ON so.partner_id = p.id
            WHERE so.state = 'sale' AND p.commercial_partner_id = p.id
              AND NOT EXISTS (SELECT 1 FROM res_partner c WHERE c.parent_id = p.id)
            GROUP BY p.id ORDER BY p.id LIMIT %s""",
        [sample],
    )
    company_prior = env.company.sms_order_gap_prior_days or None
    mismatches = 0
    for _pid, gap, source, predicted, dates in cr.fetchall():
        # bench orders have no lines: no category prior, the company's
        want_gap, want_source = rhythm_tools.rhythm(dates, None, company_prior)
        want_predicted = rhythm_tools.predicted_next(max(dates), want_gap)
        if (gap, source, predicted) != (want_gap, want_source, want_predicted):
            mismatches += 1
    return mismatches


def first_fill(env, args, backend):
    """(a) and (b), then (c), from empty rhythm columns."""
    cr = env.cr
    Partner = env["res.partner"]
    cr.execute(
        "UPDATE res_partner SET sms_order_gap_days = NULL, sms_order_gap_source = NULL,"
        " sms_next_order_predicted = NULL WHERE sms_order_gap_days IS NOT NULL"
    )
    cr.commit()
    every_contact(env, backend, "every contact's rhythm, columns empty")
    cr.execute("ANALYZE res_partner")
    cr.execute(
        "SELECT sms_order_gap_source, count(*), round(avg(sms_order_gap_days)::numeric, 1)"
        " FROM res_partner GROUP BY 1 ORDER BY 1"
    )
    print("    by source (source, contacts, mean gap):", cr.fetchall())
    if not args.skip_single:
        cr.execute(
            "UPDATE res_partner SET sms_order_gap_days = NULL, sms_order_gap_source = NULL,"
            " sms_next_order_predicted = NULL WHERE sms_order_gap_days IS NOT NULL"
        )
        cr.commit()
        count, _elapsed = timed(
            "(c) one transaction _sms_recompute_rhythm_facts()",
            Partner._sms_recompute_rhythm_facts,
            backend,
        )
        cr.commit()
        print(f"    {count:,} contacts written")


def follow_priors(env, backend):
    """(f): the priors cron's walk of the one-order contacts, committed per batch."""
    cr = env.cr
    Partner = env["res.partner"]
    if not env.company.sms_order_gap_prior_days:
        timed("    the priors first", Partner._sms_rhythm_update_priors, backend)
        cr.commit()
    cr.execute(
        "SELECT 1 FROM sale_order so JOIN res_partner p ON p.id = so.partner_id"
        " WHERE so.state = 'sale' AND p.last_order_date IS NULL LIMIT 1"
    )
    if cr.fetchone():
        count, _elapsed = timed(
            "    the facts first: _sms_recompute_activity_facts()",
            Partner._sms_recompute_activity_facts,
            backend,
        )
        cr.commit()
        print(f"    {count:,} contacts written")
    cr.execute(
        "SELECT count(*) FROM res_partner WHERE sms_order_gap_source = 'prior'"
        " OR (sms_order_gap_source IS NULL AND last_order_date IS NOT NULL)"
    )
    print(f"    {cr.fetchone()[0]:,} contacts with one order day")
    company = env.company
    prior = company.sms_order_gap_prior_days
    for label, value in (
        ("no prior changed", prior),
        ("the company's prior + 3 days", prior + 3),
        ("the company's prior back", prior),
    ):
        cr.execute(
            "UPDATE res_company SET sms_order_gap_prior_days = %s WHERE id = %s",
            [value, company.id],
        )
        cr.commit()
        env.invalidate_all()
        written, _elapsed = timed(
            f"(f) _sms_rhythm_follow_priors(), {label}", Partner._sms_rhythm_follow_priors, backend
        )
        cr.commit()
        print(f"    {written:,} contacts written")


def main():
    args = parse_args()
    if not (args.keep and database_exists(args.db)):
        create_database(args)
    odoo, registry = load_registry(args.db)
    from odoo.addons.sms_journey.tools import rhythm as rhythm_tools

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute("SELECT count(*) FROM sale_order WHERE name LIKE 'BENCH%%'")
        if not cr.fetchone()[0]:
            print(f"generating data in {args.db}")
            generate(cr, args.partners, args.orders)
            cr.commit()
        print_sizes(cr)
        cr.execute("SELECT pg_backend_pid()")
        backend = cr.fetchone()[0]
        if args.follow:
            follow_priors(env, backend)
            return
        if args.steady:
            every_contact(env, backend, "every contact's rhythm again, computed")
        else:
            first_fill(env, args, backend)
        journey = env["sms.journey"].new({"trigger": "due_to_reorder", "company_id": 1})
        today = datetime.combine(date.today(), datetime.min.time())
        candidates, _elapsed = timed(
            "(d) _candidates_due_to_reorder(yesterday, today)",
            lambda: journey._candidates_due_to_reorder(today - timedelta(days=1), today),
        )
        print(f"    {len(candidates):,} contacts due today")
        print(
            "    plan:",
            explain(
                cr,
                "SELECT id FROM res_partner WHERE sms_next_order_predicted > %s "
                "AND sms_next_order_predicted <= %s AND active",
                [today.date() - timedelta(days=1), today.date()],
            ),
        )
        mismatches, _elapsed = timed(
            "(e) SQL vs tools/rhythm.py on 1,000 contacts", lambda: check(env, rhythm_tools)
        )
        print(f"    {mismatches} mismatches")


if __name__ == "__main__":
    main()
