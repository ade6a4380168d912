"""sms.result.snapshot: the stored rows the results reports read, and their refresh.

The tables are created in ``sms_result_snapshot_tables.py``; the SMS results are kept
from what changed in ``sms_result_snapshot_results.py``, the program dashboard's order
gaps and months in ``sms_result_snapshot_program.py``."""

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

REFRESHED_AT = "sms_journey.results_refreshed_at"
# the time from which the next refresh reads what changed (write_date >= it)
WATERMARK = "sms_journey.results_watermark"

# what the SMS results are cut by, and what their totals sum
PROGRAM = ("source", "journey_id", "step_id", "variant_id", "mailing_id", "company_id")
RESULT_SUMS = (
    "sent",
    "delivered",
    "failed",
    "canceled",
    "queued",
    "clicked",
    "click_count",
    "replied",
    "opted_out",
    "cost",
    "held_out",
)
EVENT_KEY = ("kind", *PROGRAM, "hour_after", "day_after", "local_hour", "local_date")
# the sums of a group of the aggregate tables (``_apply_delta``): nullable key columns
# compare as their placeholder in the unique index, so that ON CONFLICT finds the row
KEY_PLACEHOLDERS = {
    "journey_id": "0",
    "step_id": "0",
    "variant_id": "0",
    "mailing_id": "0",
    "company_id": "0",
    "source": "''",
    "kind": "''",
    "hour_after": "0",
    "day_after": "0",
    "local_hour": "''",
    "local_date": "'1970-01-01'::date",
    "holdout": "FALSE",
    "held": "FALSE",
    "period_id": "0",
    "program": "''",
    "program_id": "0",
}
INCREMENTAL_TABLES = (
    "sms_result",
    "sms_result_total",
    "sms_result_event_fact",
    "sms_result_event",
    "sms_program_order_gap",
    "sms_program_inbound",
    "sms_program_day",
    "sms_program_month",
    "sms_journey_step_fact",
    "sms_journey_step_total",
    "sms_journey_holdout_fact",
    "sms_journey_holdout",
)
# the shape of the tables above: when it changes, the upgrade builds them again (3: the
# order gaps hold each order's total, the control-group facts read them; 4: the SMS
# received the dashboard counted are kept, only the dashboard's days are built again)
SCHEMA_VERSION = "4"
# the shape from which the upgrade adds the SMS received and builds only the dashboard's
# days (``_create_tables``)
INBOUND_FROM = "3"
SCHEMA = "sms_journey.results_schema"
# the tables whose ``<table>_<age>`` temporary tables a database session keeps from one
# refresh to the next (``_new_temps``), dropped when their shape changed (``_forget_temps``)
REUSED_TEMPS = {
    "sms_result": ("old", "new"),
    "sms_result_event_fact": ("old", "new", "kept", "computed"),
    "sms_journey_step_fact": ("old", "new"),
    "sms_journey_holdout_fact": ("old", "new"),
    "sms_program_order_gap": ("old", "new"),
    "sms_program_inbound": ("old", "new"),
}
# temporary tables of their own columns, made once per database session (``_scratch``)
# and dropped when their columns changed (``_forget_temps``): name -> columns, each type
# as PostgreSQL's format_type() writes it
SCRATCH_TEMPS = {
    "sms_result_moved": "id integer, whole boolean, clicks boolean, replies boolean, kept boolean",
}
# the last mail message the dashboard counted (calls, e-mails): messages are not edited
MESSAGE_WATERMARK = "sms_journey.results_message_id"
# one refresh at a time (the cron, the *Refresh* buttons): two at once would both move the
# totals by the same difference (a transaction-level advisory lock, released at commit)
REFRESH_LOCK = "sms_journey.results_refresh"

# the report models whose stored rows the refresh rewrites (their caches cleared)
REPORT_MODELS = (
    "sms.result",
    "sms.result.event",
    "sms.program.month",
    "sms.journey.step",
    "sms.journey",
)


class SmsResultSnapshot(models.AbstractModel):
    """The stored snapshot the results reports read: the SMS results (``sms.result``),
    the campaign report (``sms.result.event``, already counted by hour and day after the
    send), the program dashboard (``sms.program.month``), the totals of each journey
    step's traces, the control-group sums of each journey and the global control
    group's sums (``sms_result_snapshot_holdout.py``) are tables with indexes,
    so that opening them reads a few indexed rows instead of aggregating every trace,
    click, reply and order (``bench/bench_results.py``: 1M traces, 3M orders).

    How they stay current: the cron *SMS Journey: refresh the results* (every 15
    minutes; *Refresh* on the reports and the Results tabs at once) reads what was
    written since its last run (``write_date`` indexed, from a watermark held back to
    the oldest open transaction) and computes again only what that touches: the rows of
    the SMS that changed, whose totals and campaign buckets move by the difference
    (``_update_results``, ``_apply_delta``); the order gaps of the customers whose orders
    changed (``_update_gaps``); the step facts of the traces and the control-group facts
    of the participants touched, or whose family's orders moved in their goal window
    (``_update_journey``, reading the gaps); the dashboard's days the gaps, the SMS
    rows and the SMS received move, the days where a call, an e-mail, a survey answer or
    a consent change happened (``_update_program``); the global control group's facts of the
    contacts touched (``_update_holdout``). A refresh costs what changed, not the history.
    The install, the upgrade to a new shape and ``_refresh(full=True)`` build everything
    from scratch (``_build``; the upgrade from shape 3 builds only the dashboard's days,
    ``init``); ``_recomputed`` gives what each table must equal. Orders and revenue
    on a journey, step, variant or mailing are read live from the attributed orders
    (indexed), so they count at once, and so do a journey's participants and the
    participants waiting at each step."""

    _name = "sms.result.snapshot"
    _description = "Stored snapshot of the SMS results reports"

    def init(self):
        # up to 18.0.1.0.0 the SMS results were materialized views
        for name in reversed(INCREMENTAL_TABLES):
            self._drop(name)
        self._create_base_indexes()
        created = self._create_tables()
        if created is not True:
            # kept tables of an earlier version: the indexes added since
            self._create_journey_indexes()
            self._create_gap_indexes()
        self._create_deleted_triggers()
        self._create_step_queue()
        if not created:
            self._stamp()
        elif self._since() is not None:
            if created == "inbound":
                # the other kept rows stay as they are: the next refresh moves them
                self._build_days()
                self.env["ir.config_parameter"].sudo().set_param(SCHEMA, SCHEMA_VERSION)
            else:
                # an upgrade to a new shape: built again with the rows the reports had
                self._refresh_results(full=True)
            self._stamp()
        # else the install: the first refresh builds them from the history (the cron, at
        # once after the install's commit). Built here, every order of the shop would be
        # read while the install's new foreign keys keep the contacts and orders from
        # being written (SHARE ROW EXCLUSIVE until the commit: 4 minutes at 3 M orders,
        # bench/bench_install.py); the reports say "not refreshed yet" meanwhile.

    def _drop(self, name):
        """Drop the relation ``name`` if it is a view (the reports used to be plain
        views) or a materialized view, with what depends on it."""
        kind = self.env.execute_query(
            SQL("SELECT relkind FROM pg_class WHERE relname = %s AND relkind IN ('v', 'm')", name)
        )
        if kind:
            what = SQL("MATERIALIZED VIEW") if kind[0][0] == "m" else SQL("VIEW")
            self.env.cr.execute(SQL("DROP %s %s CASCADE", what, SQL.identifier(name)))

    def _stamp(self):
        self.env["ir.config_parameter"].sudo().set_param(
            REFRESHED_AT, fields.Datetime.to_string(fields.Datetime.now())
        )

    @api.model
    def _refresh(self, full=False):
        """Bring every report's stored rows up to date with the live tables, without
        blocking their readers; returns the time of the snapshot. The rows move by what
        changed since the last refresh (``_update``), from scratch when ``full`` or the
        first time (``_build``). When another refresh is under way, returns ``False``
        at once: its commit brings the rows up to date."""
        self.env.flush_all()
        if not self._lock_refresh():
            return False
        # derived rows: a crash right after the commit loses this refresh, and the next
        # one (from the same watermark) makes it again; the commit need not wait for the
        # disk
        self.env.cr.execute("SET LOCAL synchronous_commit TO off")
        self._refresh_results(full=full)
        self._stamp()
        for model in REPORT_MODELS:
            self.env[model].invalidate_model()
        return self._refreshed_at()

    def _lock_refresh(self):
        """Take the refresh's lock until the end of the transaction; ``False`` when
        another transaction holds it."""
        return self.env.execute_query(
            SQL("SELECT pg_try_advisory_xact_lock(hashtext(%s))", REFRESH_LOCK)
        )[0][0]

    @api.model
    def _refresh_results(self, full=False):
        """The SMS results (``INCREMENTAL_TABLES``) moved by what changed since the last
        refresh, or built from scratch when ``full`` or the first time."""
        parameters = self.env["ir.config_parameter"].sudo()
        since = self._since()
        message_id = int(parameters.get_param(MESSAGE_WATERMARK) or 0)
        watermark = self._next_watermark()
        last_message = self.env.execute_query(SQL("SELECT COALESCE(max(id), 0) FROM mail_message"))
        if full or not since:
            self._build()
        else:
            self._update(since, message_id)
        parameters.set_param(WATERMARK, fields.Datetime.to_string(watermark))
        parameters.set_param(MESSAGE_WATERMARK, str(last_message[0][0]))
        return None if full or not since else since

    def _since(self):
        """The watermark of the last refresh: what was written from then on is read
        again (``None``: never refreshed)."""
        value = self.env["ir.config_parameter"].sudo().get_param(WATERMARK)
        return fields.Datetime.to_datetime(value) if value else None

    def _next_watermark(self):
        """Rows written from now on, or by a transaction still open, have a
        ``write_date`` at or after this (the ORM writes the transaction's start time)."""
        return self.env.execute_query(
            SQL(
                """SELECT LEAST(now(), (SELECT min(xact_start) FROM pg_stat_activity
                                         WHERE datname = current_database()
                                           AND backend_type = 'client backend'
                                           AND pid <> pg_backend_pid()))
                          AT TIME ZONE 'UTC'"""
            )
        )[0][0]

    def _build(self):
        """Fill the SMS results from scratch (install, upgrade, ``_refresh(full=True)``)."""
        cr = self.env.cr
        self._clear(INCREMENTAL_TABLES)
        self._insert_results()
        cr.execute(SQL("INSERT INTO sms_result_event_fact %s", self._event_facts()))
        for table, relation, key, sums in (
            ("sms_result_total", "sms_result", PROGRAM, RESULT_SUMS),
            ("sms_result_event", "sms_result_event_fact", EVENT_KEY, ["event_count"]),
        ):
            columns = SQL(", ").join(SQL.identifier(c) for c in (*key, *sums, "row_count"))
            cr.execute(
                SQL(
                    "INSERT INTO %s (%s) %s",
                    SQL.identifier(table),
                    columns,
                    self._grouped(SQL.identifier(relation), key, sums),
                )
            )
        self._build_program()
        self._build_journey()
        self._build_holdout()
        self.env["ir.config_parameter"].sudo().set_param(SCHEMA, SCHEMA_VERSION)

    def _clear(self, tables):
        """Empty ``tables``; those already empty are left alone: the first build after
        the install takes minutes on a large shop, and a TRUNCATE's lock would keep the
        reports' readers waiting for it."""
        full = [
            table
            for table in tables
            if self.env.execute_query(
                SQL("SELECT EXISTS (SELECT 1 FROM %s)", SQL.identifier(table))
            )[0][0]
        ]
        if full:
            self.env.cr.execute(SQL("TRUNCATE %s", SQL(", ").join(SQL.identifier(t) for t in full)))

    def _update(self, since, message_id=0):
        """Bring the stored rows up to date with what changed since ``since``: the rows
        of the SMS, orders, traces and participants that changed are computed again from
        the live tables, and the totals, the campaign report and the dashboard move by
        the difference (old rows out, new rows in)."""
        self._forget_temps()
        trace_ids, mailing_trace_ids = self._dirty_results(since)
        results_changed = bool(trace_ids or mailing_trace_ids)
        if results_changed:
            self._update_results(trace_ids, mailing_trace_ids, since)
        families = self._changed_families(since)
        # the order gaps first: the control-group facts read them
        gaps_kept = self._update_gaps(since)
        self._update_journey(since, families, gaps_kept)
        if gaps_kept:
            self._update_program(since, message_id, results_changed)
        self._update_holdout(since, families)
        temps = [
            f"{table}_{age}"
            for table in (*INCREMENTAL_TABLES, "sms_holdout_fact")
            if table not in REUSED_TEMPS
            for age in ("old", "new")
        ]
        temps += [
            "sms_program_day_dirty",
            "sms_program_month_dirty",
            "sms_program_order_gap_written",
            "sms_program_order_gap_bound",
            "sms_program_order_gap_before",
            "sms_program_inbound_day",
        ]
        self.env.cr.execute(
            SQL("DROP TABLE IF EXISTS %s", SQL(", ").join(SQL.identifier(t) for t in temps))
        )

    def _forget_temps(self):
        """Drop the temporary tables this database session kept from an earlier refresh
        whose columns are no longer those of the table they copy (``REUSED_TEMPS``) or
        those declared (``SCRATCH_TEMPS``): after an upgrade in a running server, the
        pool keeps its connections, and their temporary tables, across registries."""
        pairs = [(f"{table}_{age}", table) for table, ages in REUSED_TEMPS.items() for age in ages]
        stale = self.env.execute_query(
            SQL(
                """
                WITH pair AS (SELECT * FROM unnest(%(temps)s::text[], %(sources)s::text[])
                                         AS p (temp, source)),
                     scratch AS (SELECT * FROM unnest(%(scratch)s::text[], %(columns)s::text[])
                                            AS s (temp, columns))
                SELECT p.temp FROM pair p
                  JOIN pg_class t ON t.relname = p.temp AND t.relnamespace = pg_my_temp_schema()
                 WHERE (SELECT array_agg(ROW(a.attname, a.atttypid, a.atttypmod) ORDER BY a.attnum)
                          FROM pg_attribute a
                         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)
                       IS DISTINCT FROM
                       (SELECT array_agg(ROW(a.attname, a.atttypid, a.atttypmod) ORDER BY a.attnum)
                          FROM pg_attribute a
                         WHERE a.attrelid = p.source::regclass AND a.attnum > 0
                           AND NOT a.attisdropped)
                 UNION ALL
                SELECT s.temp FROM scratch s
                  JOIN pg_class t ON t.relname = s.temp AND t.relnamespace = pg_my_temp_schema()
                 WHERE (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
                                          ', ' ORDER BY a.attnum)
                          FROM pg_attribute a
                         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)
                       IS DISTINCT FROM s.columns
                """,
                temps=[temp for temp, _source in pairs],
                sources=[source for _temp, source in pairs],
                scratch=list(SCRATCH_TEMPS),
                columns=list(SCRATCH_TEMPS.values()),
            )
        )
        if stale:
            self.env.cr.execute(
                SQL(
                    "DROP TABLE %s",
                    SQL(", ").join(SQL("pg_temp.%s", SQL.identifier(t)) for (t,) in stale),
                )
            )

    def _scratch(self, name):
        """Empty the temporary table ``name`` of ``SCRATCH_TEMPS``, created once per
        database session and emptied by each commit."""
        self.env.cr.execute(
            SQL(
                "CREATE TEMP TABLE IF NOT EXISTS %s (%s) ON COMMIT DELETE ROWS; DELETE FROM %s",
                SQL.identifier(name),
                SQL(SCRATCH_TEMPS[name]),
                SQL.identifier(name),
            )
        )

    @api.model
    def _cron_refresh(self):
        self._refresh()

    @api.model
    def _refreshed_at(self):
        """When the reports' stored rows were last rebuilt (UTC), or ``False``."""
        value = self.env["ir.config_parameter"].sudo().get_param(REFRESHED_AT)
        return fields.Datetime.to_datetime(value) if value else False

    @api.model
    def _as_of(self):
        """ "as of 30/11/2026 19:45" in the user's time zone, for report titles."""
        at = self._refreshed_at()
        if not at:
            return self.env._("not refreshed yet")
        local = fields.Datetime.context_timestamp(self, at)
        return self.env._("as of %(when)s", when=local.strftime("%Y-%m-%d %H:%M"))

    @api.model
    def action_refresh(self):
        """The *Refresh* button: rebuild now, then reload the view."""
        if not self.env.user.has_group("sms_journey.group_sms_journey_user"):
            raise AccessError(self.env._("Only SMS journey users can refresh the results."))
        if not self.sudo()._refresh():
            message, kind = (
                self.env._(
                    "A refresh is already under way: the results will be current when "
                    "it ends (%(as_of)s until then).",
                    as_of=self._as_of(),
                ),
                "warning",
            )
        else:
            message = self.env._("Results refreshed (%(as_of)s).", as_of=self._as_of())
            kind = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": kind,
                "message": message,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _open_report(self, xmlid, domain=None, name=None):
        """The report's window action, its title saying when its figures were taken."""
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        if domain is not None:
            action["domain"] = domain
        action["name"] = f"{name or action['name']} ({self._as_of()})"
        return action
