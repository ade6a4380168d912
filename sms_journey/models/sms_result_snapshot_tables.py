"""sms.result.snapshot: the tables of the stored results and their indexes, created at
the install and the upgrade (``init``) when missing."""

from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .sms_result_snapshot import (
    EVENT_KEY,
    INBOUND_FROM,
    INCREMENTAL_TABLES,
    PROGRAM,
    SCHEMA,
    SCHEMA_VERSION,
)

# the tables kept from what changed: name, DDL of the aggregates
TOTAL_DDL = """
CREATE TABLE sms_result_total (
    id serial PRIMARY KEY,
    source varchar, journey_id integer, step_id integer, variant_id integer,
    mailing_id integer, company_id integer,
    sent bigint, delivered bigint, failed bigint, canceled bigint, queued bigint,
    clicked bigint, click_count bigint, replied bigint, opted_out bigint, cost numeric,
    held_out bigint,
    row_count bigint NOT NULL
)
"""
EVENT_DDL = """
CREATE TABLE sms_result_event (
    id serial PRIMARY KEY,
    kind varchar, source varchar, journey_id integer, step_id integer, variant_id integer,
    mailing_id integer, company_id integer, hour_after integer, day_after integer,
    local_hour text, local_date date, event_count bigint,
    row_count bigint NOT NULL
)
"""

# the indexes of the SMS rows: (columns, predicate). A column empty on most rows (a
# journey's SMS have no mailing, a mailing's SMS no journey, step or variant, most steps
# no variant) leaves them out of its index: a row inserted adds no entry there (a
# refresh inserts its new SMS into each index; `= x` and `IN` read them all the same)
RESULT_INDEXES = (
    (["journey_id"], "journey_id IS NOT NULL"),
    (["step_id"], "step_id IS NOT NULL"),
    (["variant_id"], "variant_id IS NOT NULL"),
    (["mailing_id"], "mailing_id IS NOT NULL"),
    (["partner_id"], "partner_id IS NOT NULL"),
    (["date", "id"], ""),
    (["company_id", "date"], ""),
    (["mailing_trace_id"], "mailing_trace_id IS NOT NULL"),
)


class SmsResultSnapshot(models.AbstractModel):
    """The tables of the SMS results, of the campaign report and of the dashboard."""

    _inherit = "sms.result.snapshot"

    def _create_base_indexes(self):
        """What changed is found by ``write_date`` (indexed) on each table the results
        read; the dashboard's months are computed again from the rows of their time
        range (indexed)."""
        cr = self.env.cr
        for table in (
            "sms_journey_trace",
            "mailing_trace",
            "sms_gateway_message",
            "link_tracker_click",
            "sms_interaction",
            "sale_order",
            "sms_journey_participant",
            "sms_survey_answer",
            "sms_consent_log",
        ):
            create_index(cr, f"{table}_write_date_index", table, ["write_date"])
        for table, column, where in (
            ("sms_interaction", "received_at", ""),
            ("sms_survey_answer", "answered_at", ""),
            ("sms_consent_log", "date", "action = 'opted_out'"),
            ("sms_journey_participant", "enrolled_at", "source_model = 'account.move'"),
            ("mail_message", "date", "message_type = 'email' OR mail_activity_type_id IS NOT NULL"),
        ):
            create_index(cr, f"{table}_{column}_results_index", table, [column], where=where)

    def _create_tables(self):
        """Create the tables of the stored results if missing or of an earlier shape
        (``SCHEMA_VERSION``): True if they were, ``"inbound"`` if only the dashboard's
        SMS received were added to shape ``INBOUND_FROM`` (its days must be built
        again), False if they were there."""
        cr = self.env.cr
        exists = {
            name
            for (name,) in self.env.execute_query(
                SQL(
                    "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                    list(INCREMENTAL_TABLES),
                )
            )
        }
        missing = set(INCREMENTAL_TABLES) - exists
        version = self.env["ir.config_parameter"].sudo().get_param(SCHEMA)
        if not missing and version == SCHEMA_VERSION:
            self._create_result_indexes()
            return False
        if missing == {"sms_program_inbound"} and version == INBOUND_FROM:
            self._create_inbound_table()
            self._create_result_indexes()
            return "inbound"
        for name in INCREMENTAL_TABLES:
            cr.execute(SQL("DROP TABLE IF EXISTS %s CASCADE", SQL.identifier(name)))
        self._create_result_table()
        self._create_aggregate_tables()
        self._create_program_tables()
        self._create_journey_tables()
        # the tables are of this shape from now on, empty until the first refresh builds
        # them: an upgrade before it must not take them for an earlier shape
        self.env["ir.config_parameter"].sudo().set_param(SCHEMA, SCHEMA_VERSION)
        return True

    def _create_inbound_table(self):
        """The SMS received the dashboard counted (``sms.program.month._inbound_query``):
        one row per reply, its ``interaction_id`` set to NULL when the reply is deleted,
        so that the next refresh takes it out of its day."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "CREATE TABLE sms_program_inbound AS SELECT * FROM (%s) q WITH NO DATA",
                self.env["sms.program.month"]._inbound_query(),
            )
        )
        cr.execute(
            """ALTER TABLE sms_program_inbound ADD PRIMARY KEY (id),
                 ADD FOREIGN KEY (interaction_id) REFERENCES sms_interaction (id)
                     ON DELETE SET NULL"""
        )
        create_index(
            cr,
            "sms_program_inbound_interaction_id_index",
            "sms_program_inbound",
            ["interaction_id"],
        )
        cr.execute(
            "CREATE INDEX sms_program_inbound_orphan_index ON sms_program_inbound (id)"
            " WHERE interaction_id IS NULL"
        )

    def _create_key_index(self, table, key):
        """The unique index of the groups of ``table`` (``_apply_delta``) and the index
        of its groups left without rows."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "CREATE UNIQUE INDEX %s ON %s (%s)",
                SQL.identifier(f"{table}_key_index"),
                SQL.identifier(table),
                self._key_expressions(key),
            )
        )
        cr.execute(
            SQL(
                "CREATE INDEX %s ON %s (id) WHERE row_count = 0",
                SQL.identifier(f"{table}_empty_index"),
                SQL.identifier(table),
            )
        )

    def _create_result_table(self):
        """One row per SMS; its trace's id is set to NULL when the trace is deleted, so
        that the next refresh removes the row (``_dirty_results``): a foreign key for
        the mailing traces (mass_mailing's table), for the journey traces the trigger
        of deleted rows (``_create_deleted_triggers``)."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """CREATE TABLE sms_result AS
                   SELECT q.*, NULL::integer AS journey_trace_id,
                          NULL::integer AS mailing_trace_id
                     FROM (%s) q WITH NO DATA""",
                self._result_query(),
            )
        )
        cr.execute("ALTER TABLE sms_result SET (fillfactor = 80)")
        cr.execute(
            """ALTER TABLE sms_result ADD PRIMARY KEY (id),
                 ADD FOREIGN KEY (mailing_trace_id) REFERENCES mailing_trace (id)
                     ON DELETE SET NULL"""
        )
        self._create_result_indexes()
        cr.execute(
            "CREATE INDEX sms_result_orphan_index ON sms_result (id)"
            " WHERE journey_trace_id IS NULL AND mailing_trace_id IS NULL"
        )

    def _create_result_indexes(self):
        """Create the indexes of the SMS rows (``RESULT_INDEXES``) missing; one that
        holds every row where it should hold only those with a value (made by an
        earlier version: the upgrade) is made again. The index of the journey traces
        of an earlier version goes: the deleted rows' trigger finds the rows by primary
        key (``_create_deleted_triggers``)."""
        cr = self.env.cr
        cr.execute("DROP INDEX IF EXISTS sms_result_journey_trace_id_index")
        for columns, where in RESULT_INDEXES:
            name = f"sms_result_{'_'.join(columns)}_index"
            whole = self.env.execute_query(
                SQL(
                    "SELECT indpred IS NULL FROM pg_index WHERE indexrelid = to_regclass(%s)",
                    name,
                )
            )
            if where and whole and whole[0][0]:
                cr.execute(SQL("DROP INDEX %s", SQL.identifier(name)))
            create_index(cr, name, "sms_result", columns, where=where)

    def _create_aggregate_tables(self):
        """The totals of each program and the campaign report's buckets (one unique row
        per key, ``_apply_delta``), and the campaign report's rows of each SMS."""
        cr = self.env.cr
        cr.execute(TOTAL_DDL)
        cr.execute(
            SQL(
                "CREATE TABLE sms_result_event_fact AS SELECT * FROM (%s) q WITH NO DATA",
                self._event_facts(),
            )
        )
        create_index(
            cr, "sms_result_event_fact_result_id_index", "sms_result_event_fact", ["result_id"]
        )
        cr.execute(EVENT_DDL)
        for table, key in (("sms_result_total", PROGRAM), ("sms_result_event", EVENT_KEY)):
            self._create_key_index(table, key)
        for columns in (["journey_id"], ["step_id"], ["variant_id"], ["mailing_id"]):
            create_index(cr, f"sms_result_total_{columns[0]}_index", "sms_result_total", columns)
        for column in ("step_id", "journey_id", "mailing_id", "variant_id", "local_date"):
            create_index(cr, f"sms_result_event_{column}_index", "sms_result_event", [column])

    def _create_program_tables(self):
        """The order gaps (one row per confirmed order, its customer's ``family_id``; its
        order set to NULL when the order is deleted), the dashboard's days (per company,
        day and part, ``sms.program.month._branches``) and months. A family's gaps by
        date with their totals in one index: the control-group facts sum them without
        reading the table (``sms_result_snapshot_journey.py``)."""
        cr = self.env.cr
        Month = self.env["sms.program.month"]
        cr.execute(
            SQL(
                """CREATE TABLE sms_program_order_gap AS
                   SELECT q.*, NULL::integer AS order_id FROM (%s) q WITH NO DATA""",
                Month._gap_query(),
            )
        )
        cr.execute(
            # a deleted order marks its gap by a trigger (``_create_deleted_triggers``)
            "ALTER TABLE sms_program_order_gap ADD PRIMARY KEY (id)"
        )
        cr.execute(
            "CREATE INDEX sms_program_order_gap_family_id_index"
            " ON sms_program_order_gap (family_id, date_order) INCLUDE (amount_total)"
        )
        self._create_gap_indexes()
        cr.execute(
            "CREATE INDEX sms_program_order_gap_orphan_index ON sms_program_order_gap (id)"
            " WHERE order_id IS NULL"
        )
        self._create_inbound_table()
        cr.execute(
            SQL(
                "CREATE TABLE sms_program_day AS SELECT * FROM (%s) q WITH NO DATA",
                Month._day_query(Month._union(Month._all_branches())),
            )
        )
        cr.execute(
            "ALTER TABLE sms_program_day ADD CONSTRAINT sms_program_day_key"
            " UNIQUE (company_id, day, part)"
        )
        cr.execute(
            SQL(
                "CREATE TABLE sms_program_month AS SELECT * FROM (%s) q WITH NO DATA",
                Month._month_query(),
            )
        )
        cr.execute("ALTER TABLE sms_program_month ADD PRIMARY KEY (id)")
        create_index(
            cr,
            "sms_program_month_company_id_month_index",
            "sms_program_month",
            ["company_id", "month"],
        )
