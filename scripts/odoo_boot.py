"""Start Odoo inside a script: the shared beginning of ``odoo_tests.py`` and
``uninstall_check.py`` (both run as ``python scripts/<name>.py``, so this folder is on
``sys.path``)."""

import os
import sys


def add_database_arguments(parser):
    """The options every script that boots Odoo takes."""
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--http-port", type=int, default=8169)


def boot_odoo(args, log_level):
    """Import Odoo from ``$ODOO_SRC`` (only known at run time), configure it for
    ``args.db`` alone, without cron threads, and load the server-wide modules.
    Returns the ``odoo`` package."""
    sys.path.insert(0, os.environ.get("ODOO_SRC", "/opt/odoo18"))
    import odoo
    from odoo.service import server as odoo_server
    from odoo.tools import config

    config.parse_config(
        [
            "-d",
            args.db,
            f"--addons-path={args.addons_path}",
            f"--http-port={args.http_port}",
            f"--db-filter=^{args.db}$",
            f"--log-level={log_level}",
            "--max-cron-threads=0",
        ]
    )
    odoo_server.load_server_wide_modules()
    return odoo
