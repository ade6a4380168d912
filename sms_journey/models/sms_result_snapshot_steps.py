"""sms.result.snapshot: the journey traces whose step facts may have changed since the
last refresh, queued by triggers on ``sms_journey_trace`` (a new trace; a trace whose
journey, step, state, conversion or branch changed), so that the refresh computes again
the step facts of these only, not of every trace written since (a delivery report, a
click or a reply changes none of them: 6,500 of the 9,000 traces of the benchmark's
10,000 events)."""

from odoo import models
from odoo.tools import SQL

# the queue: one row per trace inserted, or whose step fact's columns changed (a trace
# may be in it more than once); emptied by the refresh that reads it
STEP_QUEUE = "sms_journey_step_fact_queue"
# the trace columns a step fact reads (``STEP_FACTS``)
STEP_COLUMNS = ("journey_id", "step_id", "state", "converted", "branch")
# the trigger functions that fill it (the triggers of the same names on sms_journey_trace
# go with the table; the uninstall drops the functions)
STEP_QUEUE_FUNCTIONS = ("sms_journey_trace_queue_inserted", "sms_journey_trace_queue_changed")


class SmsResultSnapshot(models.AbstractModel):
    """The queue of the traces whose step facts the next refresh computes again."""

    _inherit = "sms.result.snapshot"

    def _create_step_queue(self):
        """The queue and its triggers (at every install and upgrade, ``init``). Made on
        kept results of an earlier version, it starts with the traces written since
        the last refresh (their changes were not queued)."""
        cr = self.env.cr
        exists = self.env.execute_query(SQL("SELECT to_regclass(%s) IS NOT NULL", STEP_QUEUE))[0][0]
        cr.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS %s (trace_id integer NOT NULL)",
                SQL.identifier(STEP_QUEUE),
            )
        )
        changed = SQL(" OR ").join(
            SQL("OLD.%(c)s IS DISTINCT FROM NEW.%(c)s", c=SQL.identifier(c)) for c in STEP_COLUMNS
        )
        cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION sms_journey_trace_queue_inserted() RETURNS trigger
                LANGUAGE plpgsql AS $$ BEGIN
                    INSERT INTO %(queue)s (trace_id) SELECT id FROM inserted_rows;
                    RETURN NULL;
                END $$;
                DROP TRIGGER IF EXISTS sms_journey_trace_queue_inserted ON sms_journey_trace;
                CREATE TRIGGER sms_journey_trace_queue_inserted AFTER INSERT ON sms_journey_trace
                REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT
                EXECUTE FUNCTION sms_journey_trace_queue_inserted();
                CREATE OR REPLACE FUNCTION sms_journey_trace_queue_changed() RETURNS trigger
                LANGUAGE plpgsql AS $$ BEGIN
                    INSERT INTO %(queue)s (trace_id) VALUES (NEW.id);
                    RETURN NULL;
                END $$;
                DROP TRIGGER IF EXISTS sms_journey_trace_queue_changed ON sms_journey_trace;
                -- a row trigger, run only for the rows whose columns changed (a trigger
                -- per statement with the rows written would keep every update's rows)
                CREATE TRIGGER sms_journey_trace_queue_changed
                AFTER UPDATE OF %(columns)s ON sms_journey_trace FOR EACH ROW
                WHEN (%(changed)s) EXECUTE FUNCTION sms_journey_trace_queue_changed();
                """,
                queue=SQL.identifier(STEP_QUEUE),
                columns=SQL(", ").join(SQL.identifier(c) for c in STEP_COLUMNS),
                changed=changed,
            )
        )
        since = self._since()
        if not exists and since is not None:
            cr.execute(
                SQL(
                    "INSERT INTO %s SELECT id FROM sms_journey_trace WHERE write_date >= %s",
                    SQL.identifier(STEP_QUEUE),
                    since,
                )
            )

    def _queued_traces(self):
        """The traces queued since the last refresh, taken out of the queue (those
        queued by transactions not yet committed stay for the next refresh)."""
        return {
            row[0]
            for row in self.env.execute_query(
                SQL("DELETE FROM %s RETURNING trace_id", SQL.identifier(STEP_QUEUE))
            )
        }
