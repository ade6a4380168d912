"""Uninstall sms_journey from a database and check that Odoo's SMS works as before.

Before the uninstall, the script notes what sms_journey owns: its records (xml ids),
its models and their tables, its fields on Odoo's models and their columns. Then it
uninstalls the module, loads a fresh registry and runs one test case against it:

- an SMS sent from a partner's chatter (``_message_sms``) goes through IAP's test
  double (``sms.tests.common.MockSMS.mockSMSGateway``) and ends sent, and so does an
  ``sms.sms`` sent directly (``_send``);
- nothing of sms_journey remains: no record of its xml ids (views, crons, actions,
  menus, templates), no model, field, table or column of its own, no class of its
  Python code in any model of the registry (``sms.sms._send``, ``mail.thread``... are
  Odoo's again), nor the table and indexes its ``init()`` methods made.

Usage: python scripts/uninstall_check.py --db DB --addons-path PATHS [--http-port PORT]
Prints Odoo's usual "N failed, N error(s) of N tests" line; exits 1 on any failure.
"""

import argparse
import logging
import sys
import unittest

from odoo_boot import add_database_arguments, boot_odoo

MODULE = "sms_journey"
# made by init() methods outside the ORM (see sms_journey/__init__.py: uninstall_hook)
UNMANAGED_TABLES = ("sms_gateway_send_window",)
# models of records that must go with the module (besides every ir.* model)
TECHNICAL = ("res.groups", "sms.template", "mail.template", "loyalty.program")


def inventory(env):
    """What sms_journey owns in the database, by name (ids die with the uninstall)."""
    # records other modules also declare (Odoo's models we extend, their fields) stay
    data = env["ir.model.data"].search([("module", "=", MODULE)])
    others = env["ir.model.data"].search(
        [("module", "!=", MODULE), ("model", "in", list(set(data.mapped("model"))))]
    )
    shared = {(d.model, d.res_id) for d in others}
    data = data.filtered(lambda d: (d.model, d.res_id) not in shared)
    records = sorted({(d.model, d.res_id, d.name) for d in data})
    own_models = sorted(
        name for name, model in env.registry.items() if model._original_module == MODULE
    )
    tables = sorted(env[name]._table for name in own_models if not env[name]._abstract) + list(
        UNMANAGED_TABLES
    )
    field_ids = data.filtered(lambda d: d.model == "ir.model.fields").mapped("res_id")
    fields = env["ir.model.fields"].browse(field_ids).exists()
    # our fields on Odoo's models; not those a model inherits (``_inherits``) from another
    foreign_fields = sorted(
        (f.model, f.name, f.store and env[f.model]._table)
        for f in fields
        if f.model not in own_models
        and f.name in env[f.model]._fields
        and not env[f.model]._fields[f.name].inherited
    )
    return {
        "records": records,
        "models": own_models,
        "tables": tables,
        "foreign_fields": foreign_fields,
    }


def make_test_case(owned):
    from odoo.tools import SQL

    from odoo.addons.sms.tests.common import SMSCase

    class TestOdooSmsAfterUninstall(SMSCase):
        """Odoo's SMS after sms_journey's uninstall: as if it had never been there."""

        test_module = "sms"
        test_class = "TestOdooSmsAfterUninstall"
        test_sequence = 0
        test_tags = {"standard", "at_install"}

        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            cls.partner = cls.env["res.partner"].create(
                {"name": "Giulia Rossi", "mobile": "+39 333 123 4567"}
            )
            cls.number = cls.partner._phone_format(fname="mobile")

        def test_module_uninstalled(self):
            module = self.env["ir.module.module"].search([("name", "=", MODULE)])
            self.assertEqual(module.state, "uninstalled")

        def test_chatter_sms_goes_through_iap_and_ends_sent(self):
            with self.mockSMSGateway(force_delivered=True):
                messages = self.partner._message_sms(
                    "Your order shipped", partner_ids=self.partner.ids
                )
            self.assertSMSNotification(
                [{"partner": self.partner, "state": "sent"}], "Your order shipped", messages
            )
            self.assertSMSIapSent([self.number], "Your order shipped")

        def test_sms_sms_send_goes_through_iap(self):
            sms = self.env["sms.sms"].create(
                {"number": self.number, "body": "Hello", "partner_id": self.partner.id}
            )
            with self.mockSMSGateway():
                sms._send()
            self.assertSMSIapSent([self.number], "Hello")
            self.assertEqual(sms.exists().state, "pending")

        def test_no_record_of_sms_journey_remains(self):
            left = [
                (model, name)
                for model, res_id, name in owned["records"]
                if model in self.env and self.env[model].browse(res_id).exists()
            ]
            # Technical records (views, crons, actions, menus, rules, access, groups,
            # models, fields, templates) must go. A data record that business data kept
            # refers to stays, as Odoo keeps it for any module (the demo's product,
            # still on the demo's orders): say which.
            technical = [(m, n) for m, n in left if m.startswith("ir.") or m in TECHNICAL]
            self.assertEqual(technical, [], "technical records of sms_journey's xml ids")
            if left:
                logging.getLogger(__name__).warning(
                    "data records kept (still referenced by other data): %s", left
                )
            crons = self.env["ir.cron"].with_context(active_test=False)
            self.assertFalse(crons.search_count([("cron_name", "ilike", "SMS Journey")]))
            views = self.env["ir.ui.view"].with_context(active_test=False)
            self.assertFalse(views.search_count([("arch_db", "ilike", "sms_journey")]))

        def test_no_model_or_field_of_sms_journey_remains(self):
            for name in owned["models"]:
                self.assertNotIn(name, self.env, f"model {name}")
            self.assertFalse(self.env["ir.model"].search_count([("model", "in", owned["models"])]))
            for model, fname, _table in owned["foreign_fields"]:
                self.assertNotIn(fname, self.env[model]._fields, f"field {model}.{fname}")
            self.assertNotIn("sms_consent_state", self.env["res.partner"]._fields)
            reflected = self.env["ir.model.fields"].search(
                [("model", "in", [m for m, _f, _t in owned["foreign_fields"]])]
            )
            ours = {(m, f) for m, f, _t in owned["foreign_fields"]}
            self.assertFalse([f for f in reflected if (f.model, f.name) in ours])

        def test_no_table_column_or_index_of_sms_journey_remains(self):
            cr = self.env.cr
            cr.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind IN ('r', 'v')",
                [owned["tables"]],
            )
            self.assertEqual(cr.fetchall(), [], "tables and views")
            for model, fname, table in owned["foreign_fields"]:
                if not table:
                    continue
                cr.execute(
                    SQL(
                        "SELECT 1 FROM information_schema.columns"
                        " WHERE table_name = %s AND column_name = %s",
                        table,
                        fname,
                    )
                )
                self.assertFalse(cr.fetchall(), f"column {table}.{fname} of {model}")
            from odoo.addons.sms_journey import _UNMANAGED_INDEXES, _UNMANAGED_TABLES

            cr.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s)", [list(_UNMANAGED_TABLES)]
            )
            self.assertEqual(cr.fetchall(), [], "tables without a model")

            cr.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s)", [list(_UNMANAGED_INDEXES)]
            )
            self.assertEqual(cr.fetchall(), [], "indexes on Odoo's tables")

            # the triggers our init() methods made, and their functions
            cr.execute(
                r"""SELECT tgname FROM pg_trigger WHERE NOT tgisinternal
                       AND (tgname LIKE 'sms\_journey%%' OR tgname LIKE '%%deleted\_mark\_facts')
                    UNION ALL
                    SELECT proname FROM pg_proc
                     WHERE proname LIKE 'sms\_journey%%' OR proname LIKE '%%deleted\_mark\_facts'"""
            )
            self.assertEqual(cr.fetchall(), [], "triggers and their functions")

        def test_no_python_override_remains(self):
            prefix = f"odoo.addons.{MODULE}."
            overrides = sorted(
                f"{name}: {cls.__module__}"
                for name, model in self.env.registry.items()
                for cls in type(model).__mro__
                if cls.__module__.startswith(prefix)
            )
            self.assertEqual(overrides, [])
            send = type(self.env["sms.sms"])._send
            self.assertTrue(send.__module__.startswith("odoo.addons.sms."), send.__module__)

    return TestOdooSmsAfterUninstall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    args = parser.parse_args()

    odoo = boot_odoo(args, "warn")
    from odoo.tests import loader
    from odoo.tests.result import OdooTestResult
    from odoo.tools import config

    logger = logging.getLogger("odoo.tests.result")

    registry = odoo.modules.registry.Registry.new(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        module = env["ir.module.module"].search([("name", "=", MODULE)])
        if module.state != "installed":
            logger.error("%s is not installed in %r", MODULE, args.db)
            sys.exit(1)
        owned = inventory(env)
        logger.warning(
            "%s owns %d records, %d models, %d fields on Odoo's models: uninstalling",
            MODULE,
            len(owned["records"]),
            len(owned["models"]),
            len(owned["foreign_fields"]),
        )
        module.button_immediate_uninstall()

    odoo.modules.registry.Registry.new(args.db)  # a fresh registry, as a restarted server
    config["test_enable"] = True
    report = OdooTestResult()
    suite = loader.OdooSuite(
        unittest.defaultTestLoader.loadTestsFromTestCase(make_test_case(owned))
    )
    report.update(loader.run_suite(suite, global_report=report))
    log = logger.warning if report.wasSuccessful() else logger.error
    log("%s when loading database %r", report, args.db)
    sys.exit(0 if report.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
