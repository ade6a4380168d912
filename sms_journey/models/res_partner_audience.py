"""res.partner: the audiences of the journey crons (contacts who became inactive today,
birthdays, order anniversaries), each one indexed query."""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import schedule

# Date fields whose yearly recurrence the journey crons look up (one expression index each).
ANNIVERSARY_FIELDS = ("birthdate_date", "first_order_date")


def month_day_sql(field):
    """``month * 100 + day`` of a date column of res_partner, as written in its expression
    index (``month_day_index_sql``) and in the anniversary lookups."""
    if field not in ANNIVERSARY_FIELDS:
        raise ValueError(f"No anniversary lookup on field {field!r}")
    column = SQL.identifier(field)
    return SQL("((EXTRACT(MONTH FROM %s) * 100 + EXTRACT(DAY FROM %s))::int)", column, column)


def month_day_index_sql(field):
    """The expression index of the yearly lookups on ``field`` (``_sms_anniversary_ids``)."""
    return SQL(
        "CREATE INDEX IF NOT EXISTS %s ON res_partner (%s) WHERE %s IS NOT NULL",
        SQL.identifier(f"res_partner_{field}_month_day_index"),
        month_day_sql(field),
        SQL.identifier(field),
    )


class ResPartner(models.Model):
    """Audience helpers for the journey crons: single indexed queries returning ids of
    active partners."""

    _inherit = "res.partner"

    def init(self):
        result = super().init()
        # Birthday and anniversary crons look partners up by month and day of a date; this
        # expression (month * 100 + day) matches the one in _sms_anniversary_ids.
        # (Built already by the pre_init_hook at install, see hooks.py.)
        for fname in ANNIVERSARY_FIELDS:
            self.env.cr.execute(month_day_index_sql(fname))
        return result

    @api.model
    def _sms_inactive_crossing_ids(self, since_date, until_date):
        """Ids of active partners whose last activity is in ``(since_date, until_date]``.

        With ``until = today - threshold`` and ``since = until - 1 day`` these are the
        partners who became inactive today; one index range scan on last_activity_date.
        """
        self.flush_model(["last_activity_date", "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM res_partner
                 WHERE last_activity_date > %s AND last_activity_date <= %s AND active
                """,
                fields.Date.to_date(since_date),
                fields.Date.to_date(until_date),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _sms_birthday_ids(self, day):
        """Ids of active partners whose birthday is ``day`` (born on 29 February: on
        28 February in non-leap years)."""
        return self._sms_anniversary_ids(day, "birthdate_date")

    @api.model
    def _sms_anniversary_ids(self, day, field="first_order_date"):
        """Ids of active partners for whom ``day`` is a yearly recurrence of ``field``
        (a date before ``day``), with the 29 February rule of birthdays.

        :param field: one of ``ANNIVERSARY_FIELDS`` (each backed by an expression index).
        """
        if field not in ANNIVERSARY_FIELDS:
            raise ValueError(f"No anniversary lookup on field {field!r}")
        day = fields.Date.to_date(day)
        keys = [month * 100 + mday for month, mday in schedule.month_days_celebrated_on(day)]
        self.flush_model([field, "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM res_partner
                 WHERE %(key)s = ANY(%(keys)s) AND %(field)s IS NOT NULL
                   AND %(field)s < %(day)s AND active
                """,
                key=self._sms_month_day_sql(field),
                keys=keys,
                field=SQL.identifier(field),
                day=day,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _sms_month_day_sql(self, field):
        """``month * 100 + day`` of a date column, as written in its expression index."""
        return month_day_sql(field)
