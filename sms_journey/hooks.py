"""Install hooks: our columns on Odoo's big tables, added without locking the shop.

A module installs in one transaction, and ``ALTER TABLE`` holds ``res_partner`` /
``sale_order`` ACCESS EXCLUSIVE until that transaction ends: every contact read, login
and checkout would wait for the whole install (minutes on a large shop). And a column
the ORM creates without a default in the database is then filled row by row (a
``journey_stage`` of every contact), rewriting the table.

So, before the ORM sees our models (``pre_init_hook``):

- every stored column our models add to ``res_partner`` and ``sale_order`` is added in
  one ``ALTER TABLE … ADD COLUMN IF NOT EXISTS`` per table, with the field's default as
  a constant (PostgreSQL ≥ 11 only records it in the catalog: no row is rewritten);
  Odoo's ``_auto_init`` then finds the columns there with the right type and has
  nothing to fill nor to compute (a new stored computed column is computed over every
  row; an existing one is not);
- the indexes Odoo would create on them (and those of ``res.partner.init``) are built
  right away, one committed statement each: ``CREATE INDEX`` blocks writes (not reads)
  while it runs, and would block them until the end of the install otherwise;
- the transaction is committed after each step, so each lock lasts that one statement.

The customer facts of existing contacts are not computed here: the backfill job does it
after the install, in committed batches (``res.partner._sms_facts_backfill_start``).
"""

from odoo.tools import SQL, sql

from .models.res_partner_audience import ANNIVERSARY_FIELDS, month_day_index_sql

# (column, SQL type and constant default): the stored fields of models/res_partner*.py
# and models/sale_order.py; tests/test_install.py checks this list against the models.
PARTNER_COLUMNS = (
    ("sms_consent_state", "varchar DEFAULT 'unknown'"),
    ("sms_consent_date", "timestamp"),
    ("sms_consent_source", "varchar"),
    ("sms_consent_proof", "text"),
    ("birthdate_date", "date"),
    ("first_order_date", "date"),
    ("last_order_date", "date"),
    ("last_interaction_date", "timestamp"),
    ("last_activity_date", "date"),
    ("journey_stage", "varchar NOT NULL DEFAULT 'first_contact'"),
    ("sms_order_gap_days", "float8"),
    ("sms_order_gap_source", "varchar"),
    ("sms_next_order_predicted", "date"),
    ("sms_suppressed_number", "varchar"),
    ("sms_suppressed_reason", "varchar"),
    ("sms_suppressed_at", "timestamp"),
    ("sms_suppression_lifted_at", "timestamp"),
    ("sms_best_hour_of_week", "int4"),
    ("sms_best_hour_events", "int4"),
)
ORDER_COLUMNS = (
    ("sms_journey_trace_id", "int4"),
    ("sms_journey_id", "int4"),
    ("sms_journey_step_id", "int4"),
    ("sms_mailing_trace_id", "int4"),
    ("sms_mailing_id", "int4"),
    ("sms_attribution_kind", "varchar"),
    ("sms_attribution_at", "timestamp"),
    ("sms_attributed_revenue", "numeric"),
    ("sms_consent_given", "bool DEFAULT false"),
    ("sms_consent_proof", "text"),
    ("sms_days_since_previous_order", "int4"),
    ("sms_first_order", "bool"),
    ("sms_reactivation", "bool DEFAULT false"),
    ("sms_journey_coupon_id", "int4"),
)
# (table, column, Odoo's index kind) of the fields declared with ``index=``
INDEXED_COLUMNS = (
    ("res_partner", "sms_consent_state", "btree"),
    ("res_partner", "last_activity_date", "btree"),
    ("res_partner", "journey_stage", "btree"),
    ("res_partner", "sms_next_order_predicted", "btree_not_null"),
    ("res_partner", "phone_sanitized", "btree_not_null"),
    ("sale_order", "sms_journey_trace_id", "btree_not_null"),
    ("sale_order", "sms_journey_id", "btree_not_null"),
    ("sale_order", "sms_journey_step_id", "btree_not_null"),
    ("sale_order", "sms_mailing_trace_id", "btree_not_null"),
    ("sale_order", "sms_mailing_id", "btree_not_null"),
    ("sale_order", "sms_journey_coupon_id", "btree_not_null"),
)
# the orders' figures of a journey, step or mailing (``sms.result._order_figures``: count
# and revenue of its confirmed orders) read from the index alone when it also holds these
# columns: at 617,000 orders of one journey, 250 ms instead of 760-950 ms of heap reads.
# Same index name as Odoo's, which only checks that the name exists.
COVERING_COLUMNS = {
    ("sale_order", column): ("state", "sms_attributed_revenue")
    for column in ("sms_journey_id", "sms_journey_step_id", "sms_mailing_id")
}


def create_index(cr, table, column, kind):
    """The index Odoo would create on ``column`` (covering where ``COVERING_COLUMNS``
    says), unless an index of that name exists."""
    covered = COVERING_COLUMNS.get((table, column), ())
    sql.create_index(
        cr,
        sql.make_index_name(table, column),
        table,
        [f'"{name}"' for name in (column, *covered)],
        where=f'"{column}" IS NOT NULL' if kind == "btree_not_null" else "",
    )


def pre_init_hook(env):
    cr = env.cr
    for table, columns in (("res_partner", PARTNER_COLUMNS), ("sale_order", ORDER_COLUMNS)):
        cr.execute(
            SQL(
                "ALTER TABLE %s %s",
                SQL.identifier(table),
                SQL(", ").join(
                    SQL("ADD COLUMN IF NOT EXISTS %s %s", SQL.identifier(name), SQL(definition))
                    for name, definition in columns
                ),
            )
        )
        # pylint: disable=invalid-commit
        # release the ACCESS EXCLUSIVE lock now, not at the end of the install; a failed
        # install leaves empty columns that the next attempt reuses (IF NOT EXISTS)
        cr.commit()
    for table, column, kind in INDEXED_COLUMNS:
        if sql.column_exists(cr, table, column):
            create_index(cr, table, column, kind)
            # one index at a time: each holds a write-blocking lock only while it is built
            cr.commit()  # pylint: disable=invalid-commit
    for fname in ANNIVERSARY_FIELDS:
        cr.execute(month_day_index_sql(fname))
        # idem: one write-blocking lock per index
        cr.commit()  # pylint: disable=invalid-commit
