#!/usr/bin/env python3
"""The global control group report (``sms.global.holdout.report``) on a large database.

Run on a copy of the results bench's database (``createdb -T t22big <db>``, then
``-u sms_journey``): 3,000,000 confirmed orders over 12 months, 250,000 customers and
292,500 journey participants. The bench tops the contacts up to ``--contacts``
(1,000,000 by default) in SQL, gives every contact a phone number, adds one SMS mailing
with ``--traces`` recipients (200,000), then starts a 10 % period covering every order
(the worst case: every order counts) and times, in wall time and CPU time (this Python
process's ``time.process_time()`` plus the PostgreSQL backend's utime + stime from
``/proc/<pid>/stat``; parallel query is off for the session so that the backend's CPU is
all of PostgreSQL's; CPU is the figure that does not depend on the other users of the
machine):

(0) the full computation of the period's sums from the orders, what opening the report
    did before they were kept (one statement, as ``_recomputed``);
(1) the first build of the period's sums by the results refresh (the cron), batch after
    batch of contact ids, until built (committed; ``--keep`` reuses a built period);
(a) ``_refresh`` of the report's rows from the kept sums (what opening does), three times;
(b) ``_action_open`` as an SMS user of the company;
(c) the share held out among all contacts, against 10 %;
(d) a results refresh with nothing new (twice: the first also reads what the bench's
    preparation wrote);
(e) a refresh after ``--changes`` orders cancelled, as many repriced and as many moved to
    another contact (in SQL, ``write_date`` set as the ORM does), then the kept sums
    compared with (0) computed again (rolled back).

Target: (a) and (b) ≤ 1 s, (d) ≈ 0. ``--keep`` reuses the contacts and traces already
added, and the period built::

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_global_holdout.py --db h4big --keep
"""

import argparse
import os
import time
from datetime import datetime

from _odoo import load_registry

ADD_CONTACTS_SQL = """
INSERT INTO res_partner (name, active, type, autopost_bills, journey_stage, mobile,
                         phone_sanitized, create_date, write_date)
SELECT 'Holdout bench ' || i, true, 'contact', 'ask', 'first_contact',
       '+39341' || lpad(i::text, 7, '0'), '+39341' || lpad(i::text, 7, '0'), now(), now()
  FROM generate_series(1, %(count)s) i
"""
PHONES_SQL = """
UPDATE res_partner SET phone_sanitized = '+39342' || lpad(id::text, 7, '0')
 WHERE phone_sanitized IS NULL
"""
TRACES_SQL = """
INSERT INTO mailing_trace (trace_type, model, res_id, mass_mailing_id, trace_status,
                           create_date, write_date)
SELECT 'sms', 'res.partner', p.id, %(mailing)s, 'sent', %(at)s, now()
  FROM res_partner p WHERE p.phone_sanitized IS NOT NULL ORDER BY p.id DESC
 LIMIT %(count)s
"""


def prepare(env, contacts, traces):
    cr = env.cr
    cr.execute("SELECT count(*) FROM res_partner WHERE active")
    missing = contacts - cr.fetchone()[0]
    if missing > 0:
        started = time.perf_counter()
        cr.execute(ADD_CONTACTS_SQL, {"count": missing})
        print(f"added {missing} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    cr.execute(PHONES_SQL)
    cr.execute("SELECT max(date_order) FROM sale_order")
    last_order = cr.fetchone()[0]
    mailing = env["mailing.mailing"].search([("subject", "=", "Holdout bench")], limit=1)
    if not mailing:
        mailing = env["mailing.mailing"].create(
            {
                "subject": "Holdout bench",
                "mailing_type": "sms",
                "body_plaintext": "Promo",
                "mailing_model_id": env["ir.model"]._get_id("res.partner"),
            }
        )
        cr.execute(TRACES_SQL, {"mailing": mailing.id, "at": last_order, "count": traces})
    # the traces' write_date was once their create_date, the last order's, in the future:
    # every refresh then read them again
    cr.execute("UPDATE mailing_trace SET write_date = now() WHERE write_date > now()")
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE mailing_trace")
    cr.commit()
    return last_order


class Clock:
    """Wall and CPU time (this process, and the PostgreSQL backend of ``cr``)."""

    def __init__(self, cr):
        cr.execute("SELECT pg_backend_pid()")
        self.stat = f"/proc/{cr.fetchone()[0]}/stat"
        self.tick = os.sysconf("SC_CLK_TCK")

    def backend(self):
        with open(self.stat) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def __call__(self, run):
        wall, cpu, pg = time.perf_counter(), time.process_time(), self.backend()
        result = run()
        return result, (
            time.perf_counter() - wall,
            time.process_time() - cpu,
            self.backend() - pg,
        )


def timed(clock, label, run, times=1):
    spent = []
    for _i in range(times):
        result, figures = clock(run)
        spent.append(figures)
    print(
        f"{label}: "
        + ", ".join(
            f"wall {w:.3f} s cpu {c + p:.3f} s (py {c:.3f} + pg {p:.3f})" for w, c, p in spent
        ),
        flush=True,
    )
    return result


CHANGES_SQL = """
WITH picked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM (
        SELECT id FROM sale_order WHERE state = 'sale' ORDER BY md5(id::text) LIMIT %(count)s * 3
    ) s
), cancelled AS (
    UPDATE sale_order o SET state = 'cancel', write_date = now()
      FROM picked p WHERE p.id = o.id AND p.n <= %(count)s
), repriced AS (
    UPDATE sale_order o SET amount_total = o.amount_total + 10 + p.n, write_date = now()
      FROM picked p WHERE p.id = o.id AND p.n > %(count)s AND p.n <= 2 * %(count)s
)
UPDATE sale_order o SET partner_id = (SELECT max(id) FROM res_partner) - p.n, write_date = now()
  FROM picked p WHERE p.id = o.id AND p.n > 2 * %(count)s
"""


def built_period(env, clock, keep):
    """The bench's period, its sums built by the results refresh (committed)."""
    company = env.ref("base.main_company")
    Period = env["sms.global.holdout.period"]
    period = Period.search([("company_id", "=", company.id), ("seed", "=", "bench-seed")])
    if keep and period and period._built():
        return period
    Snapshot = env["sms.result.snapshot"]
    timed(clock, "catching up the results refresh", Snapshot._refresh)
    env.cr.commit()
    Period.search([("company_id", "=", company.id)]).unlink()
    period = Period.create(
        {
            "company_id": company.id,
            "percent": 10,
            "date_start": datetime(2025, 1, 1),
            "date_end": datetime(2027, 1, 1),
            "seed": "bench-seed",
        }
    )
    env.cr.commit()
    while not period._built():
        timed(clock, "(1) a refresh building the period's sums", Snapshot._refresh)
        env.cr.commit()
    return period


def kept_equals_recomputed(env):
    from odoo.tools import SQL  # odoo is importable once loaded

    Snapshot = env["sms.result.snapshot"]
    query = "SELECT period_id, program, program_id, held, row_count, converted, revenue, squares"
    kept = env.execute_query(SQL(f"{query} FROM sms_holdout_total ORDER BY 1, 2, 3, 4"))
    recomputed = env.execute_query(
        SQL(f"{query} FROM (%s) q ORDER BY 1, 2, 3, 4", Snapshot._recomputed("sms_holdout_total"))
    )
    return kept == recomputed


def report(env, clock, period):
    Report = env["sms.global.holdout.report"]
    timed(clock, "(a) refresh of the report's rows", lambda: Report._refresh(period), times=3)
    user = env["res.users"].search(
        [("groups_id", "in", env.ref("sms_journey.group_sms_journey_user").id)], limit=1
    )
    as_user = Report.with_user(user).with_company(period.company_id)
    timed(clock, f"(b) open as {user.login}", as_user._action_open)
    for row in Report.search([("period_id", "=", period.id)]):
        print(
            f"  {row.program:8} {row.name or '':30} treated {row.treated_count:>8}"
            f" held {row.held_out_count:>7}  conv {row.treated_conversion:6.2f} %"
            f" vs {row.held_out_conversion:6.2f} %  lift {row.conversion_lift:+.2f}"
            f" [{row.conversion_lift_low:+.2f}, {row.conversion_lift_high:+.2f}]"
            f"  rev/head {row.treated_revenue_per_head:.2f} vs"
            f" {row.held_out_revenue_per_head:.2f}"
        )
    overall = Report.search([("period_id", "=", period.id), ("program", "=", "overall")])
    heads = overall.treated_count + overall.held_out_count
    share = overall.held_out_count / heads
    print(f"(c) held out {overall.held_out_count} of {heads}: {share:.4%}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="h4big")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--traces", type=int, default=200_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="reuse the period built")
    args = parser.parse_args()
    odoo, registry = load_registry(args.db)
    from odoo.tools import SQL  # odoo is importable once loaded

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        prepare(env, args.contacts, args.traces)
        cr.execute("SET max_parallel_workers_per_gather = 0")
        clock = Clock(cr)
        period = built_period(env, clock, args.keep)
        cr.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'sale' AND date_order >= %s"
            " AND date_order < %s) FROM sale_order",
            [period.date_start, period.date_end],
        )
        total, in_period = cr.fetchone()
        print(f"orders, in the period: {total}, {in_period}", flush=True)
        cr.execute("SET jit = off")
        Snapshot = env["sms.result.snapshot"]
        timed(
            clock,
            "(0) the period's sums from every order (opening, before)",
            lambda: env.execute_query(
                SQL("SELECT count(*) FROM (%s) q", Snapshot._recomputed("sms_holdout_total"))
            ),
        )
        report(env, clock, period)
        cr.commit()
        for _i in range(2):  # the first also reads what this run's preparation wrote
            timed(clock, "(d) results refresh, nothing new", Snapshot._refresh)
            cr.commit()
        cr.execute(CHANGES_SQL, {"count": args.changes})
        env.invalidate_all()
        timed(
            clock, f"(e) results refresh after {3 * args.changes} orders changed", Snapshot._refresh
        )
        print(f"(e) kept sums = computed from every order: {kept_equals_recomputed(env)}")
        cr.rollback()


if __name__ == "__main__":
    main()
