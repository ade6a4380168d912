"""Shared helpers for benchmarks that run Odoo in-process on a scratch database."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo18")
ADDONS_PATH = f"{ODOO_SRC}/odoo/addons,{REPO}"


def odoo_bin(*args, **kwargs):
    return subprocess.run(
        [sys.executable, f"{ODOO_SRC}/odoo-bin", f"--addons-path={ADDONS_PATH}", *args],
        check=True,
        **kwargs,
    )


def db_exists(db):
    out = subprocess.run(
        ["psql", "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{db}'"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip() == "1"


def ensure_db(db, modules="sms_journey", fresh=False):
    """A database with ``modules`` installed (no demo), created once and reused."""
    if fresh and db_exists(db):
        subprocess.run(["dropdb", "--force", db], check=True)
    if not db_exists(db):
        print(f"creating database {db} with {modules} (about a minute)", flush=True)
        odoo_bin(
            "-d",
            db,
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            "--http-port=8779",
        )


def process_cpu(pid):
    """CPU seconds (user + system) the process ``pid`` has used so far: a PostgreSQL
    backend's, next to this process's ``time.process_time()`` (on a shared machine the
    wall time mostly tells the load)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu(cr):
    """CPU seconds (user + system) of the PostgreSQL backend serving ``cr``."""
    cr.execute("SELECT pg_backend_pid()")
    return process_cpu(cr.fetchone()[0])


def load_registry(db, *extra):
    sys.path.insert(0, ODOO_SRC)
    import odoo
    from odoo.tools import config

    config.parse_config(["-d", db, f"--addons-path={ADDONS_PATH}", "--log-level=warn", *extra])
    return odoo, odoo.modules.registry.Registry(db)


SENT_MESSAGES_SQL = """
INSERT INTO sms_gateway_message
       (sms_uuid, gateway_id, company_id, number, body, sms_kind, state, due_at,
        sent_at, attempts, segments, provider_message_id,
        create_date, write_date, create_uid, write_uid)
SELECT md5(random()::text || g::text), %(gateway)s, %(company)s,
       '+3933312' || lpad(g::text, 5, '0'), 'Order shipped', 'transactional',
       'sent', now() at time zone 'utc', now() at time zone 'utc', 1, 1,
       %(prefix)s || lpad(g::text, %(width)s, '0'),
       now() at time zone 'utc', now() at time zone 'utc', 1, 1
  FROM generate_series(1, %(count)s) g
"""


def insert_sent_messages(cr, gateway_id, company_id, count, prefix, width):
    """``count`` outbox rows of ``gateway_id`` sent and waiting for their delivery
    report, provider ids ``prefix`` + the row's number padded to ``width`` digits."""
    cr.execute(
        SENT_MESSAGES_SQL,
        {
            "gateway": gateway_id,
            "company": company_id,
            "count": count,
            "prefix": prefix,
            "width": width,
        },
    )


def peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_parser(doc, messages, db="sj_bench_dispatch"):
    """The options the benchmarks that start Odoo servers share."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--db", default=db, help="scratch database (created once)")
    parser.add_argument("--messages", type=int, default=messages)
    parser.add_argument("--port", type=int, default=9079, help="first Odoo server's port")
    return parser


def start_server(db, port, cron_threads=1, log=None):
    """An Odoo server on ``db`` (threaded mode) with ``cron_threads`` cron threads, as
    one more machine of a deployment would run it. Returns the process."""
    return subprocess.Popen(
        [
            sys.executable,
            f"{ODOO_SRC}/odoo-bin",
            f"--addons-path={ADDONS_PATH}",
            "-d",
            db,
            f"--db-filter=^{db}$",
            f"--http-port={port}",
            f"--max-cron-threads={cron_threads}",
            "--workers=0",
            "--log-level=warn",
        ],
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def wait_ready(port, timeout=120):
    """Wait until the server on ``port`` answers /web/health."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/web/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"Odoo on port {port} did not start in {timeout} s")


def stop_server(process, timeout=20):
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def provider_duplicates(messages):
    """Messages the provider got more than once (same recipient and text)."""
    seen = {}
    for message in messages:
        key = (message["to"], message["body"])
        seen[key] = seen.get(key, 0) + 1
    return sum(count - 1 for count in seen.values())
