"""One-statement INSERT (or upsert) for the bulk send paths (journey steps, outbox), and
a new column filled in one UPDATE for the install on large tables.

The ORM creates record by record in Python (defaults, conversions, caches):
fine for a form, the main cost when a step cron enqueues thousands of SMS. These helpers
write column-ready values (ids, strings, datetimes, numbers) in one statement, the way
``sms.gateway.message._mark_sent_bulk`` already records accepted sends. They skip
defaults, computed fields and access rules: the caller gives every column it needs
(stored related fields included) and is a trusted server-side path.
"""

from odoo import fields
from odoo.tools import SQL, sql

LOG_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")


def insert_rows(model, vals_list, update=(), skip_conflict=()):
    """Insert ``vals_list`` (dicts with the same keys: column names) into ``model``'s
    table; returns the new records, in the order of ``vals_list``.

    With ``update`` (column names), rows whose ``id`` (given in the values) exists are
    updated on those columns instead, and their cache is invalidated.
    With ``skip_conflict`` (the columns of a unique constraint), rows that would break
    it are dropped (``ON CONFLICT … DO NOTHING``) and only the inserted ones returned.
    """
    if not vals_list:
        return model.browse()
    columns = list(vals_list[0])
    now, uid = fields.Datetime.now(), model.env.uid
    log_columns, log_values = (LOG_COLUMNS, [uid, now, uid, now]) if model._log_access else ((), [])
    rows = column_arrays(model, columns, vals_list, log_values)
    if rows is None:
        rows = SQL(
            "VALUES %s",
            sql_values(
                [[*(vals[c] for c in columns), *log_values] for vals in vals_list],
                len(columns) + len(log_values),
            ),
        )
    conflict = SQL()
    if skip_conflict:
        conflict = SQL(
            "ON CONFLICT (%s) DO NOTHING",
            SQL(", ").join(SQL.identifier(c) for c in skip_conflict),
        )
    elif update:
        updated = [*update, *(("write_uid", "write_date") if model._log_access else ())]
        conflict = SQL(
            "ON CONFLICT (id) DO UPDATE SET %s",
            SQL(", ").join(
                SQL("%s = EXCLUDED.%s", SQL.identifier(c), SQL.identifier(c)) for c in updated
            ),
        )
    model.flush_model()
    # RETURNING follows the order of the rows: Odoo's own _create relies on it
    ids = model.env.execute_query(
        SQL(
            "INSERT INTO %s (%s) %s %s RETURNING id",
            SQL.identifier(model._table),
            SQL(", ").join(SQL.identifier(c) for c in (*columns, *log_columns)),
            rows,
            conflict,
        )
    )
    records = model.browse([row[0] for row in ids])
    if update:
        records.invalidate_recordset(updated)
    return records


# column types whose values psycopg2 adapts in an array as in a VALUES row
ARRAY_TYPES = {"int4", "varchar", "text", "timestamp", "date", "bool", "float8", "numeric"}


def column_arrays(model, columns, vals_list, constants):
    """``SELECT`` of the rows from one array per column (``unnest``) then the
    ``constants``: a dozen parameters instead of one per value, which for tens of
    thousands of rows spares most of the statement's building and parsing. None when
    a column's type is not a plain one (a JSON column keeps ``VALUES``)."""
    types = [model._fields[c].column_type[0] for c in columns]
    if not set(types) <= ARRAY_TYPES:
        return None
    arrays = SQL(", ").join(
        SQL(f"%s::{column_type}[]", [vals[c] for vals in vals_list])
        for c, column_type in zip(columns, types, strict=True)
    )
    extra = SQL("").join(SQL(", %s", value) for value in constants)
    return SQL("SELECT u.*%s FROM unnest(%s) AS u", extra, arrays)


def sql_values(rows, width):
    """``(%s, …), (%s, …)`` with the values of ``rows`` as parameters (one SQL object,
    not one per value: this is built for thousands of rows)."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    return SQL(", ".join([row] * len(rows)), *(value for values in rows for value in values))


def add_filled_column(model, name, column_type, update):
    """Add ``model``'s column ``name`` (``column_type``, e.g. ``int4``) and fill it with
    ``update`` (one SQL ``UPDATE``), once: when the table exists and the column does not.

    For a ``_auto_init`` before ``super()``: the ORM then finds the column and does not
    compute a new stored field record by record, which on a table of millions of rows
    (the consent log) would take the install down."""
    cr = model.env.cr
    if not sql.table_exists(cr, model._table) or sql.column_exists(cr, model._table, name):
        return False
    sql.create_column(cr, model._table, name, column_type)
    cr.execute(update)
    return True


def add_parent_company_column(model, parent_field):
    """Add ``model``'s ``company_id`` column (see :func:`add_filled_column`) filled with
    the company of each row's parent, the record its many2one ``parent_field`` points to.

    For a stored ``company_id`` computed from the parent's, on a table an existing
    database may already hold many rows of."""
    parent_table = model.env[model._fields[parent_field].comodel_name]._table
    return add_filled_column(
        model,
        "company_id",
        "int4",
        SQL(
            "UPDATE %s child SET company_id = parent.company_id FROM %s parent"
            " WHERE parent.id = child.%s",
            SQL.identifier(model._table),
            SQL.identifier(parent_table),
            SQL.identifier(parent_field),
        ),
    )
