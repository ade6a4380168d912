"""18.0.1.3.0: the indexes of the orders attributed to a journey, a step or a mailing
also hold the order's state and attributed revenue (``hooks.COVERING_COLUMNS``), so that
the figures of a journey's form read the index alone instead of every order's row.

Odoo keeps an index whose name exists, whatever its columns: the old one is dropped here,
before the models load, and built again with the covered columns. ``CREATE INDEX`` blocks
writes to ``sale_order`` (not reads) while it runs, about a second per million attributed
orders."""

from odoo.tools import SQL, sql

from odoo.addons.sms_journey import hooks


def migrate(cr, version):
    if not version:
        return
    for table, column, kind in hooks.INDEXED_COLUMNS:
        covered = hooks.COVERING_COLUMNS.get((table, column))
        if not covered or not sql.column_exists(cr, table, column):
            continue
        name = sql.make_index_name(table, column)
        cr.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indexrelid = to_regclass(%s)",
            [name],
        )
        definition = cr.fetchone()
        if definition and all(f in definition[0] for f in covered):
            continue
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
        hooks.create_index(cr, table, column, kind)
