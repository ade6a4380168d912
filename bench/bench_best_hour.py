#!/usr/bin/env python3
"""The daily recompute of every contact's best hour (send-time optimisation) at scale.

On a database with sms_journey installed and up to date (``--db``, e.g. a copy of the
results benchmark's: ``createdb -T t22big h3big`` then ``-u sms_journey``), brings the
contacts up to ``--contacts`` (``bench_audience.generate``), a third of them in New
York's zone, and adds in SQL ``--replies`` inbound SMS and ``--clicks`` clicks on journey
links (on the existing traces) over the last 300 days: each engaged contact (30 %) has a
habitual hour of the week that 60 % of its events fall in, the rest anywhere. Then
times ``res.partner._cron_sms_best_hours()`` (the cron's own method, committing each
batch) twice: the first pass writes every contact's best hour, the second, with nothing
new, writes nothing. Prints the time of the company histogram, of each batch, the
total, and how many contacts have a best hour. ``--keep`` skips the generation when the
events are there already.

Target: the recompute at 1,000,000 contacts ≤ 60 s.

    ~/.cache/sms_journey/venv-*/bin/python bench/bench_best_hour.py --db h3big
"""

import argparse
import time

from _odoo import load_registry
from bench_audience import generate

BENCH_BODY = "bench best hour"

REPLIES_SQL = """
INSERT INTO sms_interaction (partner_id, number, body, received_at, gateway_id, company_id,
                             state, pipeline_state, create_date, write_date)
SELECT p, '+1305555' || lpad((p %% 10000)::text, 4, '0'), %(body)s,
       date_trunc('week', now() at time zone 'utc') - make_interval(weeks => 1 + (j %% 43))
       + make_interval(hours => (CASE WHEN j %% 5 < 3 THEN (p::bigint * 7919) %% 168
                                      ELSE (j::bigint * 31) %% 168 END)::int,
                       mins => (j %% 60)::int),
       %(gateway)s, %(company)s, 'handled', 'processed', now(), now()
  FROM (SELECT j, %(first)s + ((j::bigint * 104729) %% %(engaged)s)::int AS p
          FROM generate_series(1, %(n)s) AS j) AS g
 WHERE EXISTS (SELECT 1 FROM res_partner WHERE id = g.p)
"""
CLICKS_SQL = """
INSERT INTO link_tracker_click (link_id, sms_journey_trace_id, create_date)
SELECT %(link)s, t.id,
       date_trunc('week', now() at time zone 'utc') - make_interval(weeks => 1 + (j %% 43))
       + make_interval(hours => (CASE WHEN j %% 5 < 3 THEN (t.partner_id::bigint * 7919) %% 168
                                      ELSE (j::bigint * 31) %% 168 END)::int,
                       mins => (j %% 60)::int)
  FROM generate_series(1, %(n)s) AS j
  JOIN sms_journey_trace t ON t.id = %(first_trace)s + ((j::bigint * 7907) %% %(traces)s)::int
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="h3big")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--replies", type=int, default=2_000_000)
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the generated events")
    return parser.parse_args()


def timed(label, func):
    started = time.perf_counter()
    result = func()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def populate(cr, args):
    cr.execute("SELECT count(*) FROM res_partner")
    missing = args.contacts - cr.fetchone()[0]
    if missing > 0:
        generate(cr, missing, 0)
        cr.commit()
    timed(
        "a third of the contacts in New York's zone",
        lambda: cr.execute(
            "UPDATE res_partner SET tz = 'America/New_York' WHERE id % 3 = 0 AND tz IS NULL"
        ),
    )
    cr.commit()
    cr.execute("SELECT min(id), max(id) FROM res_partner")
    first, last = cr.fetchone()
    cr.execute("SELECT id, company_id FROM sms_gateway ORDER BY id LIMIT 1")
    gateway, company = cr.fetchone()
    params = {"body": BENCH_BODY, "gateway": gateway, "company": company, "first": first,
              "engaged": max((last - first + 1) * 3 // 10, 1), "n": args.replies}  # fmt: skip
    timed(f"{args.replies:,} replies", lambda: cr.execute(REPLIES_SQL, params))
    cr.execute("SELECT min(id), max(id) FROM sms_journey_trace")
    first_trace, last_trace = cr.fetchone()
    cr.execute("SELECT id FROM link_tracker ORDER BY id LIMIT 1")
    link = cr.fetchone()[0]
    if first_trace is not None:
        params = {"link": link, "first_trace": first_trace, "n": args.clicks,
                  "traces": last_trace - first_trace + 1}  # fmt: skip
        timed(f"{args.clicks:,} clicks", lambda: cr.execute(CLICKS_SQL, params))
    for table in ("res_partner", "sms_interaction", "link_tracker_click"):
        cr.execute(f"ANALYZE {table}")


def main():
    args = parse_args()
    odoo, registry = load_registry(args.db)
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM sms_interaction WHERE body = %s", [BENCH_BODY])
        if not (args.keep and cr.fetchone()[0]):
            print("generating", flush=True)
            populate(cr, args)
            cr.commit()
        cr.execute("SELECT count(*) FROM res_partner")
        contacts = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM sms_interaction")
        replies = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM link_tracker_click WHERE sms_journey_trace_id IS NOT NULL")
        clicks = cr.fetchone()[0]
    print(f"{contacts:,} contacts, {replies:,} replies, {clicks:,} journey clicks", flush=True)

    Partner = registry["res.partner"]
    original = Partner._sms_recompute_best_hours
    batches = []

    def timed_batch(self, id_range, prior):
        started = time.perf_counter()
        count = original(self, id_range, prior)
        batches.append((time.perf_counter() - started, count))
        return count

    Partner._sms_recompute_best_hours = timed_batch
    original_prior = Partner._sms_best_hour_counts
    prior_seconds = []

    def timed_prior(self, since):
        started = time.perf_counter()
        prior = original_prior(self, since)
        prior_seconds.append(time.perf_counter() - started)
        return prior

    Partner._sms_best_hour_counts = timed_prior
    for label in ("first pass (every contact written)", "second pass (nothing new)"):
        batches.clear()
        prior_seconds.clear()
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            started = time.perf_counter()
            updated = env["res.partner"]._cron_sms_best_hours()
            total = time.perf_counter() - started
            cr.commit()
            cr.execute("SELECT count(*) FROM res_partner WHERE sms_best_hour_events > 0")
            with_hour = cr.fetchone()[0]
        slowest = max(seconds for seconds, _count in batches)
        print(
            f"{label}: {total:.1f} s (counting the events {prior_seconds[0]:.1f} s, "
            f"{len(batches)} batches, slowest {slowest:.1f} s), {updated:,} contacts "
            f"written, {with_hour:,} with a best hour",
            flush=True,
        )


if __name__ == "__main__":
    main()
