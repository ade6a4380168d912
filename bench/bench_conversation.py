"""A contact's SMS conversation and the conversations inbox: time to open them.

On a scratch database, one contact with 10,000 SMS (sent through a gateway and logged
on its chatter, sent through Odoo's IAP path, and received) among 300,000 SMS of other
numbers, generated in SQL; then times ``res.partner.sms_conversation_read`` (the
contact form widget's first page, 30 messages) as an SMS user, record rules applied;
and the inbox (``sms.conversation``, one row per contact or unknown number that wrote:
over 100,000 with the default noise) as its list view reads it (first 80 rows with
their fields, unread first, and the count up to 10,001 as the web client asks it).

    python bench/bench_conversation.py [--sms 10000] [--noise 300000] [--runs 20] [--keep]
"""

import argparse
import statistics
import time

from _odoo import ensure_db, load_registry

NUMBER = "+393331234567"


def generate(env, cr, sms, noise):
    gateway = env["sms.gateway"].create(
        {
            "name": "bench conversation",
            "code": "sandbox",
            "api_url": "http://127.0.0.1:9",
            "account_sid": "ACbench",
            "auth_token": "bench",
            "sender": "+15005550006",
        }
    )
    env.company.sms_gateway_id = gateway
    partner = env["res.partner"].create({"name": "Bench Conversation", "mobile": NUMBER})
    args = {"gw": gateway.id, "co": env.company.id, "p": partner.id, "n": NUMBER}
    outbox_sms, iap_sms = sms * 2 // 5, sms // 5
    # chatter messages of the SMS logged on the contact (the outbox's and the IAP ones)
    cr.execute(
        """INSERT INTO mail_message (model, res_id, message_type, body, date, author_id,
                                     record_company_id, create_date, write_date)
           SELECT 'res.partner', %(p)s, 'sms', '<p>Logged SMS ' || g || '</p>',
                  now() at time zone 'utc' - (g || ' minutes')::interval, 3, %(co)s,
                  now() at time zone 'utc', now() at time zone 'utc'
             FROM generate_series(1, %(k)s) g RETURNING id""",
        dict(args, k=outbox_sms + iap_sms),
    )
    message_ids = [row[0] for row in cr.fetchall()]
    cr.execute(
        """INSERT INTO sms_gateway_message
               (sms_uuid, gateway_id, company_id, partner_id, number, body, sms_kind, state,
                due_at, sent_at, attempts, segments, mail_message_id,
                create_date, write_date, create_uid, write_uid)
           SELECT md5(random()::text || g::text), %(gw)s, %(co)s, %(p)s, %(n)s,
                  'Outbox SMS ' || g, 'transactional', 'delivered',
                  now() at time zone 'utc' - (g || ' minutes')::interval,
                  now() at time zone 'utc' - (g || ' minutes')::interval, 1, 1,
                  (%(mids)s)[g], now() at time zone 'utc', now() at time zone 'utc', 1, 1
             FROM generate_series(1, %(k)s) g""",
        dict(args, k=outbox_sms, mids=message_ids),
    )
    cr.execute(
        """INSERT INTO mail_notification (mail_message_id, res_partner_id, notification_type,
                                          notification_status, sms_number, is_read, author_id)
           SELECT (%(mids)s)[%(off)s + g], %(p)s, 'sms', 'sent', %(n)s, true, 3
             FROM generate_series(1, %(k)s) g""",
        dict(args, k=iap_sms, off=outbox_sms, mids=message_ids),
    )
    cr.execute(
        """INSERT INTO sms_interaction (partner_id, number, body, received_at, gateway_id,
                                        company_id, state, pipeline_state, create_date, write_date)
           SELECT %(p)s, %(n)s, 'Reply ' || g,
                  now() at time zone 'utc' - (g || ' minutes')::interval - interval '30s',
                  %(gw)s, %(co)s, 'handled', 'processed', now() at time zone 'utc',
                  now() at time zone 'utc'
             FROM generate_series(1, %(k)s) g""",
        dict(args, k=sms - outbox_sms - iap_sms),
    )
    # other numbers: the bulk of the tables
    cr.execute(
        """INSERT INTO sms_gateway_message
               (sms_uuid, gateway_id, company_id, number, body, sms_kind, state, due_at,
                sent_at, attempts, segments, create_date, write_date, create_uid, write_uid)
           SELECT md5(random()::text || g::text), %(gw)s, %(co)s,
                  '+3934' || lpad(g::text, 8, '0'), 'Noise ' || g, 'marketing', 'sent',
                  now() at time zone 'utc', now() at time zone 'utc', 1, 1,
                  now() at time zone 'utc', now() at time zone 'utc', 1, 1
             FROM generate_series(1, %(k)s) g""",
        dict(args, k=noise * 2 // 3),
    )
    cr.execute(
        """INSERT INTO sms_interaction (number, body, received_at, gateway_id, company_id,
                                        state, pipeline_state, create_date, write_date)
           SELECT '+3934' || lpad(g::text, 8, '0'), 'Noise reply ' || g,
                  now() at time zone 'utc', %(gw)s, %(co)s, 'new', 'processed',
                  now() at time zone 'utc', now() at time zone 'utc'
             FROM generate_series(1, %(k)s) g""",
        dict(args, k=noise // 3),
    )
    cr.execute("ANALYZE sms_gateway_message; ANALYZE sms_interaction; ANALYZE mail_notification")
    return partner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sj_bench_conversation")
    parser.add_argument("--sms", type=int, default=10000)
    parser.add_argument("--noise", type=int, default=300000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="reuse the generated data")
    args = parser.parse_args()
    ensure_db(args.db, fresh=not args.keep)
    odoo, registry = load_registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        partner = env["res.partner"].search([("name", "=", "Bench Conversation")], limit=1)
        if not partner:
            started = time.perf_counter()
            partner = generate(env, cr, args.sms, args.noise)
            elapsed = time.perf_counter() - started
            print(f"generated {args.sms} + {args.noise} SMS in {elapsed:.1f} s")
        user = env["res.users"].search([("login", "=", "bench_sms_user")], limit=1)
        if not user:
            user = env["res.users"].create(
                {
                    "name": "Bench SMS user",
                    "login": "bench_sms_user",
                    "groups_id": [(4, env.ref("sms_journey.group_sms_journey_user").id)],
                }
            )
        cr.commit()
    timings = []
    for _run in range(args.runs):
        with registry.cursor() as cr:  # a fresh cursor and cache, as a new request
            env = odoo.api.Environment(cr, user.id, {})
            started = time.perf_counter()
            page = env["res.partner"].browse(partner.id).sms_conversation_read(limit=30)
            timings.append((time.perf_counter() - started) * 1000)
    inbox = []
    fnames = ["partner_id", "number", "last_body", "last_received_at", "unread_count", "user_id"]
    for _run in range(args.runs):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, user.id, {})
            started = time.perf_counter()
            result = env["sms.conversation"].web_search_read(
                [],
                {f: {} for f in fnames},
                limit=80,
                count_limit=10001,  # as the list view
            )
            inbox.append((time.perf_counter() - started) * 1000)
    print(
        f"inbox ({len(result['records'])} of {result['length']} conversations): first call "
        f"{inbox[0]:.0f} ms, median {statistics.median(inbox):.0f} ms, max {max(inbox):.0f} ms"
    )
    count = len(page["messages"])
    print(
        f"first page ({count} of {args.sms} SMS): first call {timings[0]:.0f} ms, "
        f"median {statistics.median(timings):.0f} ms, max {max(timings):.0f} ms "
        f"over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
