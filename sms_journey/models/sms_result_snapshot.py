from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL
from odoo.tools.sql import create_index, create_unique_index

# the report models whose rows are materialized views, in the order they are built and
# refreshed (each may read the views of the ones before it)
REPORT_MODELS = (
    "sms.result",
    "sms.result.event",
    "sms.program.month",
    "sms.journey.step",  # what each step's traces became
    "sms.journey",  # the control group's sums
)
REFRESHED_AT = "sms_journey.results_refreshed_at"


class SmsResultSnapshot(models.AbstractModel):
    """The stored snapshot the results reports read: the SMS results (``sms.result``),
    the campaign report (``sms.result.event``, already counted by hour and day after the
    send), the program dashboard (``sms.program.month``), the totals of each journey
    step's traces and the control-group sums of each journey are PostgreSQL materialized
    views with indexes, so that opening them reads a few indexed rows instead of
    aggregating every trace, click, reply and order (``bench/bench_results.py``: 1M
    traces, 100k orders).

    How they stay current: the cron *SMS Journey: refresh the results* rebuilds them
    every 15 minutes (``REFRESH MATERIALIZED VIEW CONCURRENTLY``: readers are never
    blocked); *Refresh* on the reports and on the Results tabs rebuilds them at once.
    What happened since the last refresh (a send, a click, a reply) shows after the next
    one; the reports say "as of" when. Orders and revenue on a journey, step, variant or
    mailing are read live from the attributed orders (indexed), so they count at once,
    and so do a journey's participants and the participants waiting at each step.

    Each report model says what it stores with ``_snapshot_views()``: a list of
    ``(name, query, unique columns, indexed column lists)``."""

    _name = "sms.result.snapshot"
    _description = "Stored snapshot of the SMS results reports"

    def init(self):
        views = self._views()
        for name, *_rest in reversed(views):
            self._drop(name)
        for name, query, unique, indexes in views:
            self.env.cr.execute(
                SQL("CREATE MATERIALIZED VIEW %s AS (%s)", SQL.identifier(name), query)
            )
            # CONCURRENTLY needs a unique index over all rows
            create_unique_index(
                self.env.cr, f"{name}_unique", name, [f'"{column}"' for column in unique]
            )
            for columns in indexes:
                create_index(
                    self.env.cr,
                    f"{name}_{'_'.join(columns)}_index",
                    name,
                    [f'"{column}"' for column in columns],
                )
        self._stamp()

    def _views(self):
        return [view for model in REPORT_MODELS for view in self.env[model]._snapshot_views()]

    def _drop(self, name):
        """Drop the relation ``name``, a view (the reports used to be plain views) or a
        materialized view, with what depends on it."""
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
    def _refresh(self):
        """Rebuild every report's stored rows from the live tables, in order, without
        blocking their readers; returns the time of the snapshot."""
        self.env.flush_all()
        for name, *_rest in self._views():
            self.env.cr.execute(
                SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY %s", SQL.identifier(name))
            )
        self._stamp()
        for model in REPORT_MODELS:
            self.env[model].invalidate_model()
        return self._refreshed_at()

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
            return _("not refreshed yet")
        local = fields.Datetime.context_timestamp(self, at)
        return _("as of %(when)s", when=local.strftime("%Y-%m-%d %H:%M"))

    @api.model
    def action_refresh(self):
        """The *Refresh* button: rebuild now, then reload the view."""
        if not self.env.user.has_group("sms_journey.group_sms_journey_user"):
            raise AccessError(_("Only SMS journey users can refresh the results."))
        self.sudo()._refresh()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("Results refreshed (%(as_of)s).", as_of=self._as_of()),
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
