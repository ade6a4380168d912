from . import controllers
from . import models
from . import wizards
from .hooks import pre_init_hook

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


def uninstall_hook(env):
    """Leave Odoo's SMS as it was before sms_journey.

    - Drop the foreign keys of our own tables first: the uninstall deletes our data
      records (shipped loyalty programs, demo contacts, gateways, journeys) one model
      at a time, and rows of our tables that still point at them (a journey step's
      coupon program, an outbox row's gateway, a trace's participant) would make those
      deletions fail and leave the records behind. Our tables are dropped right after.
    - Drop the table and the indexes on Odoo's tables that our ``init()`` methods made.
    """
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
    env.cr.execute(SQL("DROP TABLE IF EXISTS sms_gateway_send_window"))
    for index in _UNMANAGED_INDEXES:
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
