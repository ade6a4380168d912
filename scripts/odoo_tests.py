"""Run Odoo test suites on a database whose modules are all installed and loaded.

``odoo-bin --test-tags`` without ``-i``/``-u`` runs each module's at_install tests while
the registry is still being loaded module by module, so tests of ``sms`` would run
without the models of the modules above it (and break on their NOT NULL columns). Here
the whole registry is loaded first, then the at_install and post_install tests of the
given modules run against it: Odoo's own SMS suites really run with sms_journey in.

Usage: python scripts/odoo_tests.py --db DB --addons-path PATHS --http-port PORT \
           --modules sms,test_mail_sms --tags /sms,/test_mail_sms
Prints Odoo's usual "N failed, N error(s) of N tests" line; exits 1 on any failure.
"""

import argparse
import logging
import sys
import threading

from odoo_boot import add_database_arguments, boot_odoo

# Bundles only Odoo's own JavaScript test runners, dark mode, printing and spreadsheets
# load: no browser tour of ours or of Odoo's SMS suites opens them. Odoo's
# _pregenerate_assets_bundles() builds them too (about 40 s of the 75 s it takes per
# run here); one a page asks for anyway is built on that request, as in production.
UNUSED_BUNDLES = {
    "web.assets_unit_tests",
    "web.assets_unit_tests_setup",
    "web.qunit_suite_tests",
    "web.qunit_mobile_suite_tests",
    "web.tests_assets",
    "web_editor.mocha_tests",
    "web.assets_web_dark",
    "web.assets_web_print",
    "web.report_assets_common",
    "web.report_assets_pdf",
    "snailmail.report_assets_snailmail",
    "spreadsheet.public_spreadsheet",
}


def pregenerate_assets(env):
    """Odoo's pregeneration of the asset bundles before browser tests (as odoo-bin's
    preload_registries does), without the bundles of UNUSED_BUNDLES."""
    qweb = env["ir.qweb"]
    js_bundles, css_bundles = qweb._get_bundles_to_pregenarate()
    for bundle in sorted(js_bundles - UNUSED_BUNDLES):
        qweb._get_asset_bundle(bundle, css=False, js=True).js()
    for bundle in sorted(css_bundles - UNUSED_BUNDLES):
        qweb._get_asset_bundle(bundle, css=True, js=False).css()
    logging.getLogger(__name__).info(
        "asset bundles pregenerated: %s JS, %s CSS",
        len(js_bundles - UNUSED_BUNDLES),
        len(css_bundles - UNUSED_BUNDLES),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--modules", required=True, help="comma-separated module names")
    parser.add_argument("--tags", required=True, help="Odoo --test-tags specification")
    parser.add_argument(
        "--marketing-consent",
        choices=("opt_in", "opt_out"),
        help="set every company's marketing SMS consent rule before the tests (committed)",
    )
    args = parser.parse_args()

    odoo = boot_odoo(args, "info")
    from odoo.service import server as odoo_server
    from odoo.tests import loader
    from odoo.tests.result import OdooTestResult
    from odoo.tools import config

    logger = logging.getLogger("odoo.tests.result")
    # HttpCase talks to a real HTTP server on this port.
    odoo_server.server = odoo_server.ThreadedServer(odoo.http.root)
    # The map of static folders is read from every manifest (ast.literal_eval) the first
    # time a request needs it. Python 3.11's compiler is not thread-safe ("SystemError:
    # AST constructor recursion depth mismatch") and a browser's first page load sends
    # several requests at once: read the map here, before any request thread exists.
    odoo.http.root.statics  # noqa: B018
    odoo_server.server.http_spawn()

    # as odoo-bin's preload_registries: code that reads the thread's database (e.g.
    # ir.http.routing_map) finds it
    threading.current_thread().dbname = args.db
    registry = odoo.modules.registry.Registry.new(args.db)  # loads everything, no tests yet
    if args.marketing_consent:
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            companies = env["res.company"].with_context(active_test=False).search([])
            companies.write({"sms_marketing_consent": args.marketing_consent})
            # companies created by the tests get the same rule
            env["ir.default"].set("res.company", "sms_marketing_consent", args.marketing_consent)
    config["test_enable"] = True
    config["test_tags"] = args.tags
    report = registry._assertion_report = OdooTestResult()
    modules = [name.strip() for name in args.modules.split(",") if name.strip()]
    for position in ("at_install", "post_install"):
        suite = loader.make_suite(modules, position)
        if position == "post_install" and suite.has_http_case():
            with registry.cursor() as cr:
                pregenerate_assets(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}))
        report.update(loader.run_suite(suite, global_report=report))
    report.log_stats()
    log = logger.info if report.wasSuccessful() else logger.error
    log("%s when loading database %r", report, args.db)
    odoo_server.server.httpd.shutdown()
    sys.exit(0 if report.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
