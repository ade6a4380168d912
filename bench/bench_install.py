#!/usr/bin/env python3
"""Installing sms_journey on a large shop: how long it holds the contacts and orders.

Builds, once, a template database with sms_journey's dependencies installed (no demo)
and ``--contacts`` contacts / ``--orders`` sale orders generated in SQL (the generator
of bench_audience.py). Then, for base_vat (the anchor: a small module adding columns
to res_partner) and for sms_journey, each on a fresh copy of the template
(``createdb -T``): ``odoo-bin -i <module> --stop-after-init --without-demo=all`` while a
thread reads ``pg_locks`` every ``--interval`` seconds, and prints the wall time, the
longest ACCESS EXCLUSIVE hold on res_partner and sale_order (and the longest lock that
blocks writes: SHARE and stronger), the tables' sizes before and after
(``pg_total_relation_size``) and the rows whose ``write_date`` moved. For sms_journey it
then runs the customer facts backfill cron to completion in its own process, as a cron
worker would (``ir.cron._process_job``), and prints its wall time, its slowest batch
(the longest any row lock of the job is held) and the locks seen meanwhile.

Goals: sms_journey's longest exclusive hold ≤ 30 s and ≤ base_vat's; table size after
≤ 1.3× before; backfill ≤ 10 min, each batch < 1 s. ::

    VENV=$(ls -d ~/.cache/sms_journey/venv-* | head -1)
    nohup $VENV/bin/python bench/bench_install.py > /tmp/bench_install.log 2>&1 &
    $VENV/bin/python bench/bench_install.py --contacts 100000 --orders 300000
"""

import argparse
import ast
import re
import subprocess
import sys
import threading
import time

import psycopg2
from _odoo import ADDONS_PATH, ODOO_SRC, REPO, db_exists
from bench_audience import generate

TABLES = ("res_partner", "sale_order")
# modes that block writes on the table (and ACCESS EXCLUSIVE reads too)
WRITE_BLOCKING = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--prefix", default="sj_bench_install", help="database name prefix")
    parser.add_argument(
        "--base", help="database with sms_journey's dependencies installed to start from"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the template")
    parser.add_argument("--interval", type=float, default=1.0, help="pg_locks sampling (s)")
    parser.add_argument("--port", type=int, default=8779)
    parser.add_argument("--modules", default="base_vat,sms_journey")
    parser.add_argument("--run-backfill", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--run-refresh", metavar="DB", help=argparse.SUPPRESS)
    return parser.parse_args()


def connect(db):
    connection = psycopg2.connect(dbname=db)
    connection.autocommit = True
    return connection


def psql(db, query):
    connection = connect(db)
    try:
        with connection.cursor() as cr:
            cr.execute(query)
            return cr.fetchall() if cr.description else None
    finally:
        connection.close()


def odoo(db, *args, log=None):
    command = [
        sys.executable,
        f"{ODOO_SRC}/odoo-bin",
        f"--addons-path={ADDONS_PATH}",
        "-d",
        db,
        *args,
    ]
    return subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, text=True)


def journey_dependencies():
    manifest = ast.literal_eval((REPO / "sms_journey" / "__manifest__.py").read_text())
    return ",".join(manifest["depends"])


def build_template(args, template):
    if db_exists(template) and not args.rebuild:
        print(f"reusing template {template}", flush=True)
        return
    started = time.perf_counter()
    if db_exists(template):
        subprocess.run(["dropdb", "--force", template], check=True)
    if args.base:
        print(f"template {template} from {args.base}", flush=True)
        subprocess.run(["createdb", "-T", args.base, template], check=True)
    else:
        print(f"template {template}: installing {journey_dependencies()}", flush=True)
        odoo(
            template,
            "-i",
            journey_dependencies(),
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            f"--http-port={args.port}",
        )
    print(f"generating {args.contacts:,} contacts, {args.orders:,} orders", flush=True)
    # not ``with connection``: psycopg2 would open a transaction, and VACUUM refuses one
    connection = connect(template)
    with connection.cursor() as cr:
        generate(cr, args.contacts, args.orders)
        cr.execute("VACUUM ANALYZE res_partner")
        cr.execute("VACUUM ANALYZE sale_order")
    connection.close()
    print(f"template ready in {time.perf_counter() - started:.0f} s\n", flush=True)


class LockSampler(threading.Thread):
    """Reads pg_locks every ``interval`` s; a hold is the run of consecutive samples in
    which one backend held a granted lock of a mode on a table (upper bound: samples ×
    interval, the resolution of the measure)."""

    def __init__(self, db, interval):
        super().__init__(daemon=True)
        self.db, self.interval = db, interval
        self.stopped = threading.Event()
        self.current = {}  # (table, pid, kind) -> samples in a row
        self.longest = {}  # (table, kind) -> samples

    def run(self):
        connection = connect(self.db)
        with connection.cursor() as cr:
            while not self.stopped.is_set():
                cr.execute(
                    """SELECT relation::regclass::text, pid, mode FROM pg_locks
                        WHERE locktype = 'relation' AND granted AND pid != pg_backend_pid()
                          AND database = (SELECT oid FROM pg_database
                                           WHERE datname = current_database())
                          AND relation IN ('res_partner'::regclass, 'sale_order'::regclass)"""
                )
                seen = set()
                for table, pid, mode in cr.fetchall():
                    if mode == "AccessExclusiveLock":
                        seen.add((table, pid, "exclusive"))
                    if mode in WRITE_BLOCKING:
                        seen.add((table, pid, "blocks writes"))
                self.current = {key: self.current.get(key, 0) + 1 for key in seen}
                for (table, _pid, kind), samples in self.current.items():
                    key = (table, kind)
                    self.longest[key] = max(self.longest.get(key, 0), samples)
                self.stopped.wait(self.interval)
        connection.close()

    def stop(self):
        self.stopped.set()
        self.join()

    def hold(self, table, kind):
        return self.longest.get((table, kind), 0) * self.interval


def sizes(db):
    rows = psql(
        db,
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
        "WHERE relname IN ('res_partner', 'sale_order') AND relkind = 'r'",
    )
    return dict(rows)


def mb(size):
    return f"{size / 2**20:,.0f} MB"


def install(args, template, module):
    db = f"{args.prefix}_{module}"
    if db_exists(db):
        subprocess.run(["dropdb", "--force", db], check=True)
    subprocess.run(["createdb", "-T", template, db], check=True)
    before = sizes(db)
    started_at = psql(db, "SELECT now() at time zone 'UTC'")[0][0]
    sampler = LockSampler(db, args.interval)
    sampler.start()
    started = time.perf_counter()
    with open(f"/tmp/{db}.log", "w") as log:
        odoo(
            db,
            "-i",
            module,
            "--stop-after-init",
            "--without-demo=all",
            "--log-level=info",
            f"--http-port={args.port}",
            log=log,
        )
    wall = time.perf_counter() - started
    sampler.stop()
    after = sizes(db)
    # the generated rows only: the install's own data writes a few records (the admin's
    # and OdooBot's contacts, through their groups)
    generated = {"res_partner": "name LIKE 'Bench partner %'", "sale_order": "name LIKE 'BENCH%'"}
    touched = {
        table: psql(
            db,
            f"SELECT count(*) FROM {table} "
            f"WHERE write_date >= '{started_at}' AND {generated[table]}",
        )[0][0]
        for table in TABLES
    }
    result = {"module": module, "db": db, "wall": wall, "before": before, "after": after}
    result["touched"] = touched
    for table in TABLES:
        for kind in ("exclusive", "blocks writes"):
            result[table, kind] = sampler.hold(table, kind)
    print(
        f"{module}: installed in {wall:.0f} s (log /tmp/{db}.log)\n"
        + "".join(
            f"  {table}: ACCESS EXCLUSIVE ≤ {result[table, 'exclusive']:.0f} s, "
            f"write-blocking ≤ {result[table, 'blocks writes']:.0f} s, "
            f"{mb(before[table])} → {mb(after[table])} "
            f"({after[table] / before[table]:.2f}×), write_date moved on {touched[table]:,} rows\n"
            for table in TABLES
        ),
        flush=True,
    )
    return result


def backfill(args, db):
    """The backfill cron run to completion by a separate process, as a cron worker."""
    sampler = LockSampler(db, args.interval)
    sampler.start()
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--run-backfill", db],
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ).stdout
    wall = time.perf_counter() - started
    sampler.stop()
    with open(f"/tmp/{db}_backfill.log", "w") as log:
        log.write(output)
    batches = [float(s) for s in re.findall(r"contacts updated in ([0-9.]+) s", output)]
    updated = sum(int(n) for n in re.findall(r", ([0-9]+) contacts updated", output))
    result = {
        "wall": wall,
        "batches": len(batches),
        "slowest": max(batches, default=0.0),
        "updated": updated,
        "exclusive": max(sampler.hold(t, "exclusive") for t in TABLES),
        "blocks writes": max(sampler.hold(t, "blocks writes") for t in TABLES),
        "size": sizes(db)["res_partner"],
    }
    print(
        f"backfill: {wall:.0f} s, {result['batches']} batches, slowest {result['slowest']:.2f} s, "
        f"{updated:,} contacts updated; ACCESS EXCLUSIVE ≤ {result['exclusive']:.0f} s, "
        f"write-blocking ≤ {result['blocks writes']:.0f} s; res_partner {mb(result['size'])} "
        f"(log /tmp/{db}_backfill.log)",
        flush=True,
    )
    return result


def first_refresh(args, db):
    """The results' refresh cron run once by a separate process, as a cron worker: after
    the install it builds the reports from the history (the install no longer does)."""
    sampler = LockSampler(db, args.interval)
    sampler.start()
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--run-refresh", db], check=True)
    wall = time.perf_counter() - started
    sampler.stop()
    result = {
        "wall": wall,
        "exclusive": max(sampler.hold(t, "exclusive") for t in TABLES),
        "blocks writes": max(sampler.hold(t, "blocks writes") for t in TABLES),
    }
    print(
        f"first results refresh (builds the reports from the history): {wall:.0f} s; "
        f"ACCESS EXCLUSIVE ≤ {result['exclusive']:.0f} s, "
        f"write-blocking ≤ {result['blocks writes']:.0f} s",
        flush=True,
    )
    return result


def cron_registry(db, *log_handlers):
    """(Child process.) Odoo's registry of ``db`` and a connection, as a cron worker."""
    sys.path.insert(0, ODOO_SRC)
    import odoo as odoo_module
    from odoo.tools import config

    config.parse_config(
        ["-d", db, f"--addons-path={ADDONS_PATH}", "--log-level=warn", *log_handlers]
    )
    threading.current_thread().dbname = db
    return (
        odoo_module,
        odoo_module.modules.registry.Registry(db),
        odoo_module.sql_db.db_connect(db),
    )


def run_refresh(db):
    """(Child process.) Run the results' refresh cron job once, as Odoo's cron worker."""
    odoo_module, registry, connection = cron_registry(db)
    with registry.cursor() as cr:
        env = odoo_module.api.Environment(cr, odoo_module.SUPERUSER_ID, {})
        cron_id = env.ref("sms_journey.ir_cron_sms_result_refresh").id
    IrCron = registry["ir.cron"]
    with connection.cursor() as cron_cr:
        job = IrCron._acquire_one_job(cron_cr, cron_id)
        if job:
            IrCron._process_job(connection, cron_cr, job)


def run_backfill(db):
    """(Child process.) Run the backfill cron job, as Odoo's cron worker does, until the
    facts are computed."""
    odoo_module, registry, connection = cron_registry(
        db, "--log-handler=odoo.addons.sms_journey.models.res_partner_facts_backfill:INFO"
    )
    with registry.cursor() as cr:
        env = odoo_module.api.Environment(cr, odoo_module.SUPERUSER_ID, {})
        cron_id = env.ref("sms_journey.ir_cron_sms_facts_backfill").id
    IrCron = registry["ir.cron"]
    while True:
        with registry.cursor() as cr:
            env = odoo_module.api.Environment(cr, odoo_module.SUPERUSER_ID, {})
            if env["res.partner"]._sms_facts_backfill_state() is None:
                break
        with connection.cursor() as cron_cr:
            job = IrCron._acquire_one_job(cron_cr, cron_id)
            if not job:
                time.sleep(0.2)
                continue
            IrCron._process_job(connection, cron_cr, job)


def main():
    args = parse_args()
    if args.run_backfill:
        run_backfill(args.run_backfill)
        return
    if args.run_refresh:
        run_refresh(args.run_refresh)
        return
    template = f"{args.prefix}_tpl_{args.contacts}_{args.orders}"
    build_template(args, template)
    results = [install(args, template, module) for module in args.modules.split(",")]
    journey = next((r for r in results if r["module"] == "sms_journey"), None)
    if journey:
        filled = backfill(args, journey["db"])
        built = first_refresh(args, journey["db"])
        anchor = next((r for r in results if r["module"] == "base_vat"), None)
        ours = max(journey[t, "exclusive"] for t in TABLES)
        goals = [
            ("exclusive hold ≤ 30 s", ours <= 30),
            (
                "size after ≤ 1.3× before",
                all(journey["after"][t] <= 1.3 * journey["before"][t] for t in TABLES),
            ),
            ("no write_date moved", not any(journey["touched"].values())),
            ("backfill ≤ 10 min", filled["wall"] <= 600),
            ("each batch < 1 s", filled["slowest"] < 1),
            ("the first results refresh holds nothing exclusive", built["exclusive"] < 1),
        ]
        if anchor:
            theirs = max(anchor[t, "exclusive"] for t in TABLES)
            goals.append((f"exclusive hold ≤ base_vat's ({theirs:.0f} s)", ours <= theirs))
        print("\n" + "\n".join(f"  {'met' if ok else 'NOT met'}: {label}" for label, ok in goals))


if __name__ == "__main__":
    main()
