from . import controllers
from . import models
from . import wizards
from .hooks import pre_init_hook
from .models.sms_result_snapshot_journey import deleted_marks
from .models.sms_result_snapshot_steps import STEP_QUEUE, STEP_QUEUE_FUNCTIONS

from odoo.tools import SQL

# What our init() methods create outside the ORM's knowledge on tables that stay after
# an uninstall (Odoo's own tables), and the sending-window book; the ORM drops the rest
# (our tables and views, our columns with their indexes).
_UNMANAGED_INDEXES = (
    "mail_notification_sms_number_idx",
    "mailing_trace_sms_number_index",
    "mailing_trace_sms_partner_index",
    "sms_tracker_mailing_trace_index",
    "res_partner_birthdate_date_month_day_index",
    "res_partner_first_order_date_month_day_index",
    "website_track_product_visit_sms_index",
    "website_track_product_time_sms_index",
    "website_track_product_viewer_sms_index",
)

# The tables our init() methods make without a model (the ORM drops a model's table, not
# these): the sending-window book, the kept sums of the results refresh and of the global
# control group, the staged rhythm of every contact, the journeys' pending windows.
_UNMANAGED_TABLES = (
    "sms_gateway_send_window",
    "sms_result_total",
    "sms_result_event_fact",
    "sms_program_order_gap",
    "sms_program_day",
    "sms_journey_step_fact",
    "sms_journey_step_total",
    "sms_journey_holdout_fact",
    "sms_journey_holdout",
    "sms_holdout_state",
    "sms_holdout_fact",
    "sms_holdout_total",
    "sms_journey_rhythm_stage",
    "sms_journey_window",
    "sms_journey_window_row",
    STEP_QUEUE,
)


def uninstall_hook(env):
    """Leave Odoo's SMS as it was before sms_journey.

    - Drop the foreign keys of our own tables first: the uninstall deletes our data
      records (shipped loyalty programs, demo contacts, gateways, journeys) one model
      at a time, and rows of our tables that still point at them (a journey step's
      coupon program, an outbox row's gateway, a trace's participant) would make those
      deletions fail and leave the records behind. Our tables are dropped right after.
    - Drop the tables without a model and the indexes on Odoo's tables that our
      ``init()`` methods made, and the triggers that mark the kept results' rows of
      deleted traces, participants and orders (``_create_deleted_triggers``): the
      deletions of the uninstall must not run them; and the functions of the triggers
      that queue the traces for the step facts (``_create_step_queue``).
    """
    for source in deleted_marks():
        env.cr.execute(
            SQL(
                "DROP TRIGGER IF EXISTS %s ON %s; DROP FUNCTION IF EXISTS %s()",
                SQL.identifier(f"{source}_deleted_mark_facts"),
                SQL.identifier(source),
                SQL.identifier(f"{source}_deleted_mark_facts"),
            )
        )
    for function in STEP_QUEUE_FUNCTIONS:
        env.cr.execute(SQL("DROP FUNCTION IF EXISTS %s() CASCADE", SQL.identifier(function)))
    own_tables = [
        model._table
        for model in env.registry.values()
        if model._original_module == "sms_journey" and model._auto and not model._abstract
    ]
    env.cr.execute(
        SQL(
            """SELECT conrelid::regclass::text, conname FROM pg_constraint
                WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)""",
            own_tables,
        )
    )
    for table, constraint in env.cr.fetchall():
        env.cr.execute(
            SQL(
                "ALTER TABLE %s DROP CONSTRAINT %s",
                SQL.identifier(table),
                SQL.identifier(constraint),
            )
        )
    for table in _UNMANAGED_TABLES:
        env.cr.execute(SQL("DROP TABLE IF EXISTS %s CASCADE", SQL.identifier(table)))
    for index in _UNMANAGED_INDEXES:
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
