#!/usr/bin/env python3
"""What one participant row costs to insert, and where it goes.

A behaviour trigger's day at 1 M contacts brings tens of thousands of contacts into a
journey (``bench_behaviour.py``: 50,000-57,000 for browse abandonment): after its scan,
the enrolment is that many rows of ``sms_journey_participant``. This bench inserts
``--rows`` participants for spread-out contacts of an existing database, as the
enrolment engine's chunk does (one ``INSERT … SELECT``, ``models/sms_journey_window.py``
``_enrol_staged``), and the same rows without some of the table's foreign keys or
indexes (dropped inside a savepoint, so nothing is changed), and with Odoo's ORM
``create`` as the anchor. Every variant runs ``--rounds`` times, interleaved, each
rolled back; printed: the median wall time and the database backend's CPU time, each
per row too, and the WAL written.

The foreign keys are checked one row at a time by PostgreSQL (an ``RI_FKey_check_ins``
trigger per key and row, even when every row references the same journey); the
contact's check also locks the contact's row (``FOR KEY SHARE``), which writes WAL (a
whole page the first time the page is touched after a checkpoint).

    VENV=$(ls -d ~/.cache/sms_journey/venv-* | head -1)
    $VENV/bin/python bench/bench_enrol_floor.py --db sj_bench_behaviour
"""

import argparse
import os
import statistics
import sys
import time

from _odoo import ADDONS_PATH, ODOO_SRC, backend_cpu

TABLE = "sms_journey_participant"
CONTACT_FK = f"{TABLE}_partner_id_fkey"
OTHER_FKS = [
    f"{TABLE}_{column}_fkey"
    for column in ("journey_id", "company_id", "step_id", "create_uid", "write_uid")
]
# the secondary indexes (the primary key and the unique key the engine's ON CONFLICT
# needs are kept)
SECONDARY_INDEXES_SQL = f"""
SELECT string_agg(quote_ident(i.relname), ', ')
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
 WHERE x.indrelid = '{TABLE}'::regclass AND NOT x.indisprimary AND NOT x.indisunique
"""
INSERT_SQL = f"""
INSERT INTO {TABLE} (journey_id, partner_id, company_id, key, state, step_id, enrolled_at,
                     next_action_at, create_uid, create_date, write_uid, write_date)
SELECT %(journey)s, p.id, %(company)s, 'floor-' || %(round)s || '-' || p.id, 'running',
       %(step)s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', %(uid)s,
       now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
  FROM unnest(%(partners)s::int[]) AS p (id)
    ON CONFLICT (journey_id, partner_id, key) DO NOTHING
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sj_bench_behaviour")
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args()


def spread_contacts(cr, rows, round_):
    """``rows`` contacts spread over the whole table (a day's visitors are anybody)."""
    cr.execute(
        """SELECT id FROM res_partner
            WHERE active AND id %% %s = %s ORDER BY id LIMIT %s""",
        [97, round_ % 97, rows],
    )
    return [row[0] for row in cr.fetchall()]


def sql_insert(env, journey, partners, round_):
    env.cr.execute(
        INSERT_SQL,
        {
            "journey": journey.id,
            "company": journey.company_id.id,
            "step": journey.step_ids[:1].id,
            "uid": env.uid,
            "round": round_,
            "partners": partners,
        },
    )


def orm_create(env, journey, partners, round_):
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    env["sms.journey.participant"].create(
        [
            {
                "journey_id": journey.id,
                "partner_id": partner_id,
                "key": f"floor-{round_}-{partner_id}",
                "state": "running",
                "step_id": journey.step_ids[:1].id,
                "enrolled_at": now,
                "next_action_at": now,
            }
            for partner_id in partners
        ]
    )
    env.flush_all()


def variants(env):
    """[(label, SQL run first in the savepoint, insert function)]."""
    env.cr.execute(SECONDARY_INDEXES_SQL)
    indexes = env.cr.fetchone()[0]
    drop_fks = "ALTER TABLE {} {}".format(
        TABLE, ", ".join(f"DROP CONSTRAINT {name}" for name in [CONTACT_FK, *OTHER_FKS])
    )
    return [
        ("the engine's INSERT (6 foreign keys, 12 indexes)", None, sql_insert),
        (
            "without the contact's foreign key",
            f"ALTER TABLE {TABLE} DROP CONSTRAINT {CONTACT_FK}",
            sql_insert,
        ),
        (
            "without the 5 others (journey, company, step, users)",
            "ALTER TABLE {} {}".format(
                TABLE, ", ".join(f"DROP CONSTRAINT {name}" for name in OTHER_FKS)
            ),
            sql_insert,
        ),
        ("without any foreign key", drop_fks, sql_insert),
        (
            "without any foreign key nor secondary index",
            f"{drop_fks}; DROP INDEX {indexes}",
            sql_insert,
        ),
        ("Odoo's ORM create (the anchor)", None, orm_create),
    ]


def measure(env, args):
    journey = env["sms.journey"].search([("step_ids", "!=", False)], limit=1)
    cr = env.cr
    figures = {}
    for round_ in range(args.rounds):
        partners = spread_contacts(cr, args.rows, round_)
        for label, prepare, insert in variants(env):
            cr.execute("SAVEPOINT floor")
            if prepare:
                cr.execute(prepare)
            cr.execute("SELECT pg_current_wal_insert_lsn()")
            lsn = cr.fetchone()[0]
            pg_before = backend_cpu(cr)
            started = time.perf_counter()
            insert(env, journey, partners, round_)
            wall = time.perf_counter() - started
            pg_cpu = backend_cpu(cr) - pg_before
            cr.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [lsn])
            wal = cr.fetchone()[0]
            cr.execute("ROLLBACK TO SAVEPOINT floor")
            env.invalidate_all()
            figures.setdefault(label, []).append((wall, pg_cpu, float(wal)))
    rows = len(partners)
    print(f"{rows:,} participants per insert, {args.rounds} rounds, medians")
    print(f"{'':<56} {'wall':>8} {'pg CPU':>8} {'µs/row':>7} {'CPU/row':>7} {'WAL':>8}")
    for label, runs in figures.items():
        wall = statistics.median(r[0] for r in runs)
        pg_cpu = statistics.median(r[1] for r in runs)
        wal = statistics.median(r[2] for r in runs) / 2**20
        print(
            f"{label:<56} {wall:6.3f} s {pg_cpu:6.3f} s {wall / rows * 1e6:7.1f} "
            f"{pg_cpu / rows * 1e6:7.1f} {wal:5.1f} MB"
        )


def main():
    args = parse_args()
    sys.path.insert(0, ODOO_SRC)
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [f"--addons-path={ADDONS_PATH}", "-d", args.db, "--log-level=warn"]
    )
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with Registry(args.db).cursor() as cr:
        measure(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), args)
        cr.rollback()
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
