"""res.partner: the contact's best hour of the week to be texted, recomputed daily in
SQL from its clicks and replies (send-time optimisation, ``tools/best_hour.py``)."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import best_hour
from .sms_gateway_message import _testing

_logger = logging.getLogger(__name__)

# Partner ids per committed batch of the daily recompute: each batch holds the row
# locks of its contacts only for its own statement (bench/bench_best_hour.py).
BEST_HOUR_BATCH = 50_000
# The history the best hour rests on: habits change, older reactions say little.
BEST_HOUR_HISTORY_DAYS = 365
BEST_HOUR_FIELDS = ["sms_best_hour_of_week", "sms_best_hour_events"]

# Every click on a journey link and every inbound SMS of a contact since ``since``, as
# (pid, at).
EVENTS_SQL = """
SELECT t.partner_id AS pid, c.create_date AS at
  FROM link_tracker_click c
  JOIN sms_journey_trace t ON t.id = c.sms_journey_trace_id
 WHERE c.create_date >= %(since)s AND t.partner_id IS NOT NULL
 UNION ALL
SELECT i.partner_id, i.received_at
  FROM sms_interaction i
 WHERE i.received_at >= %(since)s AND i.partner_id IS NOT NULL
"""

# (pid, bucket) of each event: its hour of the week in the contact's zone (its own when
# PostgreSQL knows it, else UTC: ``best_hour.best_hour_zone``), Monday 00:00 being 0
BUCKETS_SQL = """
WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names),
events AS (%(events)s)
SELECT e.pid,
       ((EXTRACT(ISODOW FROM l.local)::int - 1) * 24 + EXTRACT(HOUR FROM l.local)::int) AS bucket
  FROM events e
  JOIN res_partner p ON p.id = e.pid
  LEFT JOIN zones z ON z.name = p.tz
 CROSS JOIN LATERAL (
     SELECT (e.at AT TIME ZONE 'UTC') AT TIME ZONE COALESCE(z.name, 'UTC') AS local
 ) l
"""


class ResPartner(models.Model):
    """The hour of the week a contact most often clicks or replies.

    ``sms_best_hour_of_week`` (0–167, Monday 00:00 = 0, in the contact's zone) and the
    number of clicks and replies it rests on (``sms_best_hour_events``; 0: no best hour,
    the value is then meaningless) are written by the daily cron
    ``_cron_sms_best_hours`` in batched SQL, smoothed towards the company's histogram
    (``tools/best_hour.py``). Steps with *send at the contact's best hour* read them
    (``sms.journey.step._best_hour_due_times``). Engagement data: SMS users only.
    """

    _inherit = "res.partner"

    sms_best_hour_of_week = fields.Integer(
        "Best hour of the week",
        readonly=True,
        copy=False,
        groups="sms_journey.group_sms_journey_user",
        help="0 is Monday 00:00, 167 Sunday 23:00, in the contact's time zone.",
    )
    sms_best_hour_events = fields.Integer(
        "Best hour rests on",
        readonly=True,
        copy=False,
        groups="sms_journey.group_sms_journey_user",
        help="Clicks and replies of the last year the best hour is computed from.",
    )
    sms_best_hour_label = fields.Char(
        "Best hour to text",
        compute="_compute_sms_best_hour_label",
        groups="sms_journey.group_sms_journey_user",
        help="When this contact most often clicks or replies (its own history, smoothed "
        "towards the company's when it has few events); recomputed daily.",
    )

    @api.depends("sms_best_hour_of_week", "sms_best_hour_events", "tz")
    def _compute_sms_best_hour_label(self):
        days = [
            self.env._("Monday"),
            self.env._("Tuesday"),
            self.env._("Wednesday"),
            self.env._("Thursday"),
            self.env._("Friday"),
            self.env._("Saturday"),
            self.env._("Sunday"),
        ]
        for partner in self:
            bucket = partner._sms_best_hour()
            if bucket is None:
                partner.sms_best_hour_label = False
                continue
            day, hour = best_hour.split_hour_of_week(bucket)
            partner.sms_best_hour_label = self.env._(
                "%(day)s %(hour)02d:00 (%(zone)s, %(count)s clicks and replies)",
                day=days[day],
                hour=hour,
                zone=best_hour.best_hour_zone(partner.tz),
                count=partner.sms_best_hour_events,
            )

    def _sms_best_hour(self):
        """This contact's best bucket (0–167), or None without history (read as the
        superuser: steps of any user's journeys use it)."""
        self.ensure_one()
        partner = self.sudo()
        return partner.sms_best_hour_of_week if partner.sms_best_hour_events else None

    @api.model
    def _cron_sms_best_hours(self):
        """Recompute every contact's best hour: the events counted once per contact and
        bucket (``_sms_best_hour_counts``), then the contacts written in batches of
        ``BEST_HOUR_BATCH`` ids, each committed (but in tests)."""
        since = fields.Datetime.now() - timedelta(days=BEST_HOUR_HISTORY_DAYS)
        prior = self._sms_best_hour_counts(since)
        self.env.cr.execute(SQL("SELECT min(id), max(id) FROM res_partner"))
        first, last = self.env.cr.fetchone()
        updated = 0
        while first is not None and first <= last:
            batch_last = first + BEST_HOUR_BATCH - 1
            updated += self._sms_recompute_best_hours((first, batch_last), prior)
            if not _testing():
                # each batch holds its contacts' row locks for its statement only; the
                # temporary table of counts outlives the commit (ON COMMIT PRESERVE ROWS)
                self.env.cr.commit()  # pylint: disable=invalid-commit
            first = batch_last + 1
        self.env.cr.execute(SQL("DROP TABLE IF EXISTS sms_best_hour_counts"))
        _logger.info("best hours: %s contacts updated", updated)
        return updated

    @api.model
    def _sms_best_hour_counts(self, since):
        """Count every contact's clicks and replies since ``since`` per bucket, in one
        scan of the events, into the temporary table ``sms_best_hour_counts`` (pid,
        bucket, n) the batches read; returns ``{bucket: count}`` of all contacts: the
        company's histogram the contacts' own are smoothed towards."""
        self._sms_flush_best_hour_sources()
        events = SQL(EVENTS_SQL, since=since)
        self.env.cr.execute(SQL("DROP TABLE IF EXISTS sms_best_hour_counts"))
        self.env.cr.execute(
            SQL(
                """
                CREATE TEMPORARY TABLE sms_best_hour_counts ON COMMIT PRESERVE ROWS AS
                SELECT pid, bucket, count(*)::int AS n FROM (%s) b GROUP BY pid, bucket
                """,
                SQL(BUCKETS_SQL, events=events),
            )
        )
        self.env.cr.execute(SQL("CREATE INDEX ON sms_best_hour_counts (pid)"))
        self.env.cr.execute(SQL("ANALYZE sms_best_hour_counts"))
        rows = self.env.execute_query(
            SQL("SELECT bucket, sum(n)::int FROM sms_best_hour_counts GROUP BY bucket")
        )
        return dict(rows)

    @api.model
    def _sms_recompute_best_hours(self, id_range, prior):
        """Write the best hour of the contacts whose id is in ``id_range`` (first, last)
        from their counts (``_sms_best_hour_counts``) and the company's histogram
        ``prior``, in one UPDATE of the rows that change. The score and its tie-break
        are ``best_hour.best_hour_of_week``'s: the best is one of the contact's own
        buckets or, among those it has no event in, the company's top bucket."""
        counts = [prior.get(bucket, 0) for bucket in range(best_hour.HOURS_PER_WEEK)]
        top = max(range(best_hour.HOURS_PER_WEEK), key=lambda bucket: (counts[bucket], -bucket))
        self.env.cr.execute(
            SQL(
                """
                WITH counts AS (
                    SELECT pid, bucket, n FROM sms_best_hour_counts
                     WHERE pid BETWEEN %(first)s AND %(last)s
                ),
                totals AS (SELECT pid, sum(n)::int AS events FROM counts GROUP BY pid),
                candidates AS (
                    SELECT pid, bucket, n FROM counts
                     UNION ALL
                    SELECT pid, %(top)s, 0 FROM totals
                ),
                best AS (
                    SELECT DISTINCT ON (pid) pid, bucket
                      FROM candidates
                     ORDER BY pid,
                              n + COALESCE(%(strength)s::float8 * (%(prior)s::int[])[bucket + 1]
                                           / NULLIF(%(total)s, 0)::float8, 0) DESC,
                              bucket
                ),
                -- the contacts with events, and those that had some (to clear)
                targets AS (
                    SELECT pid FROM totals
                     UNION
                    SELECT id FROM res_partner
                     WHERE id BETWEEN %(first)s AND %(last)s AND sms_best_hour_events > 0
                )
                UPDATE res_partner p
                   SET sms_best_hour_of_week = b.bucket,
                       sms_best_hour_events = COALESCE(t.events, 0)
                  FROM targets x
                  LEFT JOIN totals t ON t.pid = x.pid
                  LEFT JOIN best b ON b.pid = x.pid
                 WHERE p.id = x.pid
                   AND (p.sms_best_hour_of_week, COALESCE(p.sms_best_hour_events, 0))
                       IS DISTINCT FROM (b.bucket, COALESCE(t.events, 0))
                """,
                top=top,
                strength=best_hour.PRIOR_STRENGTH,
                prior=counts,
                total=sum(counts),
                first=id_range[0],
                last=id_range[1],
            )
        )
        count = self.env.cr.rowcount
        self.invalidate_model(BEST_HOUR_FIELDS)
        return count

    def _sms_flush_best_hour_sources(self):
        self.env["link.tracker.click"].flush_model(["create_date", "sms_journey_trace_id"])
        self.env["sms.journey.trace"].flush_model(["partner_id"])
        self.env["sms.interaction"].flush_model(["partner_id", "received_at"])
        self.flush_model(["tz", *BEST_HOUR_FIELDS])
