"""Journey step cron: cost of the due participants, and SMS enqueue speed.

(a) The real step cron (``_cron_execute_due``, committing as in production, called until
    nothing is due) on 1,000 due participants among 10,000 then 100,000 running ones of a
    transactional journey with one SMS-template step: the time must follow the 1,000 due,
    not the total. SMS go into the outbox of a company gateway pointed at a loopback
    Twilio-format provider; nothing is dispatched.
(c) The same as (a) on a branching journey: the 1,000 due wait on a branch step (clicked
    the previous SMS? yes → one SMS, no → another; both rejoin a third SMS a day later),
    so each due participant takes the branch and sends its path's SMS in the same pass.
(b) SMS enqueued per second: Odoo's mass path (``_message_sms_schedule_mass`` with
    ``mass_keep_log=True``; then the same plus ``send()`` into the outbox) on 2,000
    partners, against the journey step cron sending to 2,000 due participants.
(d) ``--legal-rules``: the enqueue rate of (b) for a marketing journey to 2,000 US
    contacts (area codes of every US zone, a fifth in Florida), with the shipped legal
    send windows active, then archived (the company window only), in interleaved rounds:
    what the legal rules cost the policy (issue 24: within 10 %).

Partners (with mobiles and consent opted in) and participants are written with SQL
``generate_series``; the database is created once and reused (``--fresh`` rebuilds it).

    python bench/bench_journey.py [--db sj_bench_journey] [--fresh]
"""

import argparse
import statistics
import subprocess
import time

from _odoo import ensure_db, load_registry, peak_rss_mb

BODY = "Hello {{ object.name }}, your order is ready for pick-up."
TOUCHED_TABLES = (
    "mail_message",
    "mail_notification",
    "sms_tracker",
    "sms_sms",
    "sms_gateway_message",
    "sms_journey_participant",
    "sms_journey_trace",
)

PARTNERS_SQL = """
INSERT INTO res_partner (id, name, complete_name, active, type, is_company,
                         commercial_partner_id, autopost_bills, journey_stage, mobile,
                         phone_sanitized, sms_consent_state, tz, country_id, lang,
                         create_date, write_date)
SELECT %(base)s + i, 'Journey bench ' || i, 'Journey bench ' || i, TRUE, 'contact', FALSE,
       %(base)s + i, 'ask', 'first_contact', '+39 333 ' || lpad(i::text, 7, '0'),
       '+39333' || lpad(i::text, 7, '0'), 'opted_in', 'Europe/Rome', %(country)s, 'en_US',
       now() at time zone 'utc', now() at time zone 'utc'
  FROM generate_series(1, %(n)s) AS i
"""
# US contacts for (d): area codes of six zones, every fifth one in Florida (305)
US_AREA_CODES = ("212", "305", "312", "303", "602", "213", "907", "808", "305", "615")
US_PARTNERS_SQL = """
INSERT INTO res_partner (id, name, complete_name, active, type, is_company,
                         commercial_partner_id, autopost_bills, journey_stage, mobile,
                         phone_sanitized, sms_consent_state, country_id, lang,
                         create_date, write_date)
SELECT %(base)s + i, 'Journey bench US ' || i, 'Journey bench US ' || i, TRUE, 'contact',
       FALSE, %(base)s + i, 'ask', 'first_contact',
       '+1' || (%(codes)s::text[])[1 + i %% 10] || '2' || lpad(i::text, 6, '0'),
       '+1' || (%(codes)s::text[])[1 + i %% 10] || '2' || lpad(i::text, 6, '0'),
       'opted_in', %(country)s, 'en_US', now() at time zone 'utc', now() at time zone 'utc'
  FROM generate_series(1, %(n)s) AS i
"""
# ``total`` running participants of ``journey`` on the bench partners; the first ``due``
# are due a minute ago, the others in a week.
PARTICIPANTS_SQL = """
INSERT INTO sms_journey_participant
       (journey_id, partner_id, company_id, key, state, step_id, enrolled_at, next_action_at,
        create_uid, create_date, write_uid, write_date)
SELECT %(journey)s, %(base)s + i, %(company)s, 'bench', 'running', %(step)s,
       now() at time zone 'utc' - interval '1 hour',
       now() at time zone 'utc' + CASE WHEN i <= %(due)s THEN interval '-1 minute'
                                       ELSE interval '7 days' END,
       1, now() at time zone 'utc', 1, now() at time zone 'utc'
  FROM generate_series(1, %(total)s) AS i
"""


def bench_partners(env, count, us=False):
    """The id base of ``count`` bench partners (US ones for (d)), created on the first
    run."""
    cr = env.cr
    name = "Journey bench US %%" if us else "Journey bench %%"
    cr.execute(
        "SELECT min(id) - 1, count(*) FROM res_partner WHERE name LIKE %s"
        " AND (name LIKE 'Journey bench US %%') = %s",
        [name, us],
    )
    base, existing = cr.fetchone()
    if existing >= count:
        return base
    cr.execute(
        "DELETE FROM res_partner WHERE name LIKE %s AND (name LIKE 'Journey bench US %%') = %s",
        [name, us],
    )
    cr.execute("SELECT COALESCE(max(id), 0) FROM res_partner")
    base = cr.fetchone()[0]
    started = time.perf_counter()
    if us:
        country = env.ref("base.us").id
        cr.execute(
            US_PARTNERS_SQL,
            {"base": base, "n": count, "country": country, "codes": list(US_AREA_CODES)},
        )
    else:
        cr.execute(PARTNERS_SQL, {"base": base, "n": count, "country": env.ref("base.it").id})
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base + count])
    cr.execute("ANALYZE res_partner")
    cr.commit()
    print(f"  {count:,} partners in {time.perf_counter() - started:.1f} s", flush=True)
    return base


def setup(env, server_url):
    company = env.company
    gateway = env["sms.gateway"].create(
        {
            "name": "Journey bench loopback",
            "code": "sandbox",
            "api_url": server_url,
            "account_sid": "ACbench",
            "auth_token": "bench",
            "sender": "+15005550006",
            "price_per_segment": 0.01,
            "company_id": company.id,
        }
    )
    company.sms_gateway_id = gateway
    template = env["sms.template"].create(
        {"name": "Journey bench", "model_id": env.ref("base.model_res_partner").id, "body": BODY}
    )
    env.cr.commit()
    return gateway, template


def make_journey(env, template, base, total, due, branching=False, kind="transactional"):
    """A running journey with ``total`` participants, ``due`` of them due now: one SMS
    step, or with ``branching`` a branch step on clicks (yes → SMS, no → SMS) rejoining
    an SMS step a day later, the participants waiting on the branch; its SMS of
    ``kind``."""
    steps = [(0, 0, {"sequence": 10, "action": "sms", "template_id": template.id})]
    if branching:
        steps = [
            (0, 0, {"sequence": 10, "action": "branch", "condition": "clicked"}),
            (0, 0, dict(steps[0][2], sequence=20, wait_amount=1)),
        ]
    journey = env["sms.journey"].create(
        {
            "name": f"Journey bench {total}{' branching' if branching else ''}",
            "trigger": "segment",
            "sms_kind": kind,  # transactional: quiet hours and caps do not defer
            "segment_interval_days": 0,
            "step_ids": steps,
        }
    )
    first = journey._first_step()
    if branching:
        env["sms.journey.step"].create(
            [
                {
                    "journey_id": journey.id,
                    "parent_id": first.id,
                    "branch_side": side,
                    "action": "sms",
                    "template_id": template.id,
                }
                for side in ("yes", "no")
            ]
        )
    journey.state = "running"
    env.flush_all()
    env.cr.execute(
        PARTICIPANTS_SQL,
        {
            "journey": journey.id,
            "base": base,
            "company": env.company.id,
            "step": first.id,
            "due": due,
            "total": total,
        },
    )
    env.cr.execute("ANALYZE sms_journey_participant")
    env.cr.commit()
    return journey


def outbox_count(env, gateway):
    env.cr.execute("SELECT count(*) FROM sms_gateway_message WHERE gateway_id = %s", [gateway.id])
    return env.cr.fetchone()[0]


def run_step_cron(env, journey, gateway):
    """One full pass of the step cron; returns (seconds, SMS enqueued, participants done)."""
    before = outbox_count(env, gateway)
    Participant = env["sms.journey.participant"]
    done = 0
    started = time.perf_counter()
    while True:
        claimed = Participant._cron_execute_due()
        if not claimed:
            break
        done += len(claimed)
    elapsed = time.perf_counter() - started
    env.invalidate_all()
    return elapsed, outbox_count(env, gateway) - before, done


def cleanup(env, journey, gateway):
    """Remove what a run made, so every run starts from the same tables."""
    cr = env.cr
    cr.execute("DELETE FROM sms_gateway_message WHERE gateway_id = %s", [gateway.id])
    cr.execute("DELETE FROM sms_sms WHERE body LIKE 'Hello Journey bench %%'")
    cr.execute(
        """DELETE FROM mail_message WHERE model = 'res.partner' AND message_type = 'sms'
            AND body LIKE '%%Hello Journey bench %%'"""
    )
    if journey:
        cr.execute("DELETE FROM sms_journey_participant WHERE journey_id = %s", [journey.id])
        journey.unlink()
    cr.commit()
    env.invalidate_all()
    # the next run starts on vacuumed tables, not behind the dead rows of this one
    subprocess.run(
        ["psql", "-q", "-d", cr.dbname, "-c", f"VACUUM ANALYZE {', '.join(TOUCHED_TABLES)}"],
        check=True,
    )


def legal_rules_part(env, template, gateway, count, rounds):
    """(d): the step cron's enqueue rate of a marketing journey to ``count`` US contacts,
    legal rules active then archived, interleaved; the lines of its summary."""
    base = bench_partners(env, count, us=True)
    shipped = env["sms.send.rule"].search([])
    rates = {"legal rules active": [], "legal rules archived": []}
    decisions = {}
    try:
        for _round in range(rounds):
            for label, active in (("legal rules active", True), ("legal rules archived", False)):
                shipped.active = active
                env.cr.commit()
                journey = make_journey(env, template, base, count, count, kind="marketing")
                elapsed, queued, _done = run_step_cron(env, journey, gateway)
                assert queued == count, queued
                rates[label].append(queued / elapsed)
                env.cr.execute(
                    "SELECT state, count(*) FROM sms_gateway_message WHERE gateway_id = %s"
                    " GROUP BY state ORDER BY state",
                    [gateway.id],
                )
                decisions[label] = dict(env.cr.fetchall())
                cleanup(env, journey, gateway)
    finally:
        shipped.active = True
        env.cr.commit()
    lines = []
    for label, values in rates.items():
        lines.append(
            f"(d) marketing, {label}: {count:,} SMS, median {statistics.median(values):.0f} "
            f"SMS/s (best {max(values):.0f}) over {rounds} rounds; outbox {decisions[label]}"
        )
        print(lines[-1], flush=True)
    active, archived = (statistics.median(v) for v in rates.values())
    lines.append(f"(d) active / archived: {active / archived:.2f}")
    print(lines[-1], flush=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sj_bench_journey")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--totals", default="10000,100000")
    parser.add_argument("--mass", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-mass", action="store_true", help="only (a) and (c)")
    parser.add_argument(
        "--legal-rules", action="store_true", help="only (d): marketing, legal rules on/off"
    )
    args = parser.parse_args()
    totals = [int(t) for t in args.totals.split(",")]

    ensure_db(args.db, fresh=args.fresh)
    odoo, registry = load_registry(args.db)
    from odoo.addons.sms_journey.tools.gateways.loopback import TwilioFormatServer

    server = TwilioFormatServer(auth_token="bench", account_sid="ACbench")
    server.start()
    lines = []
    try:
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            base = bench_partners(env, max(totals + [args.mass]))
            gateway, template = setup(env, server.url)
            cleanup(env, None, gateway)

            # warm-up (template compilation, registry caches), not reported
            journey = make_journey(env, template, base, 100, 100)
            run_step_cron(env, journey, gateway)
            cleanup(env, journey, gateway)
            if args.legal_rules:
                lines += legal_rules_part(env, template, gateway, args.mass, args.rounds)
                totals, args.skip_mass = [], True

            # (a) due participants among many running ones; (c) the same, branching
            for label, branching in (("(a)", False), ("(c) branching:", True)):
                for total in totals:
                    journey = make_journey(env, template, base, total, args.due, branching)
                    elapsed, sent, done = run_step_cron(env, journey, gateway)
                    lines.append(
                        f"{label} {args.due:,} due of {total:,} running: {done:,} steps, "
                        f"{sent:,} SMS enqueued in {elapsed:.2f} s = {sent / elapsed:.0f} SMS/s; "
                        f"peak RSS {peak_rss_mb():.0f} MB"
                    )
                    print(lines[-1], flush=True)
                    cleanup(env, journey, gateway)

            # (b) enqueue speed, in interleaved rounds: this machine's timings vary by
            # ±30 % from run to run, so each path runs --rounds times and the medians
            # are compared (best in brackets)
            if args.skip_mass:
                args.rounds = 0
            partners = env["res.partner"].browse(range(base + 1, base + args.mass + 1))
            body = BODY.replace("{{ object.name }}", "Journey bench")
            rates = {"Odoo mass (sms.sms only)": [], "Odoo mass + send()": [], "journey": []}
            for _round in range(args.rounds):
                for label, send in (
                    ("Odoo mass (sms.sms only)", False),
                    ("Odoo mass + send()", True),
                ):
                    env.invalidate_all()
                    started = time.perf_counter()
                    sms = partners.with_context(
                        sms_kind="transactional"
                    )._message_sms_schedule_mass(body=body, mass_keep_log=True)
                    if send:
                        sms.send(auto_commit=False, raise_exception=False)
                    cr.commit()
                    elapsed = time.perf_counter() - started
                    assert outbox_count(env, gateway) == (len(sms) if send else 0)
                    rates[label].append(len(sms) / elapsed)
                    cleanup(env, None, gateway)
                journey = make_journey(env, template, base, args.mass, args.mass)
                elapsed, sent, done = run_step_cron(env, journey, gateway)
                assert sent == args.mass, sent
                rates["journey"].append(sent / elapsed)
                cleanup(env, journey, gateway)
            for label, values in rates.items():
                if not values:
                    continue
                lines.append(
                    f"(b) {label}: {args.mass:,} SMS, median {statistics.median(values):.0f} "
                    f"SMS/s (best {max(values):.0f}) over {args.rounds} rounds"
                )
                print(lines[-1], flush=True)
            lines.append(f"    peak RSS {peak_rss_mb():.0f} MB")
            company = env.company
            company.sms_gateway_id = False
            gateway.unlink()
            template.unlink()
            cr.commit()
    finally:
        server.stop()
    print("\n".join(["", "summary:", *lines]))


if __name__ == "__main__":
    main()
