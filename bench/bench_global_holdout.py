#!/usr/bin/env python3
"""The global control group report (``sms.global.holdout.report``) on a large database.

Run on a copy of the results bench's database (``createdb -T t22big <db>``, then
``-u sms_journey``): 3,000,000 confirmed orders over 12 months, 250,000 customers and
292,500 journey participants. The bench tops the contacts up to ``--contacts``
(1,000,000 by default) in SQL, gives every contact a phone number, adds one SMS mailing
with ``--traces`` recipients (200,000), then starts a 10 % period covering every order
(the worst case: the report sums all 3 M orders) and times:

(a) ``_refresh`` of the period (what opening the report does), three times;
(b) ``_action_open`` as an SMS user of the company (refresh + the action);
(c) the share held out among all contacts, against 10 %.

Target: (a) and (b) ≤ 1 s. ``--keep`` reuses the contacts and traces already added::

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_global_holdout.py --db h4big
"""

import argparse
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
SELECT 'sms', 'res.partner', p.id, %(mailing)s, 'sent', %(at)s, %(at)s
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
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE mailing_trace")
    cr.commit()
    return last_order


def timed(label, run, times=1):
    spent = []
    for _i in range(times):
        started = time.perf_counter()
        result = run()
        spent.append(time.perf_counter() - started)
    print(f"{label}: " + ", ".join(f"{s:.3f} s" for s in spent), flush=True)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="h4big")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--traces", type=int, default=200_000)
    args = parser.parse_args()
    odoo, registry = load_registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        prepare(env, args.contacts, args.traces)
        company = env.ref("base.main_company")
        Period = env["sms.global.holdout.period"]
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
        cr.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'sale' AND date_order >= %s"
            " AND date_order < %s) FROM sale_order",
            [period.date_start, period.date_end],
        )
        total, in_period = cr.fetchone()
        print(f"orders, in the period: {total}, {in_period}", flush=True)
        Report = env["sms.global.holdout.report"]
        timed("(a) refresh", lambda: Report._refresh(period), times=3)
        user = env["res.users"].search(
            [("groups_id", "in", env.ref("sms_journey.group_sms_journey_user").id)], limit=1
        )
        as_user = Report.with_user(user).with_company(company)
        timed(f"(b) open as {user.login}", as_user._action_open)
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
        cr.rollback()


if __name__ == "__main__":
    main()
