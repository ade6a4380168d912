"""sms.journey: a trigger's window scanned once, enrolled in chunks.

A trigger's window since the last check (``enrol_checked_at``) can bring tens of thousands
of contacts (a day of browse abandonment, a price drop on a popular product). The call
that finds no pending window asks the trigger once for the window's candidates
(``_window_scan``), filters them (``_filter_candidates``), computes when each enters and
when the first step is due for each, and stages them, numbered, in an unlogged table
(``sms_journey_window_row``, written by ``COPY``). A window of the call's ``limit``
contacts at most is enrolled at once; a larger one is kept pending
(``sms_journey_window``: its end, the first step, its progress, what closing it records)
and each of the next calls moves ``limit`` more staged rows to the participants in one
statement (a ``DELETE … RETURNING`` feeding the ``INSERT``), without reading the window
again. After the last chunk the window closes (``_window_close``: ``enrol_checked_at``
advanced, a price drop's prices recorded), so a change meanwhile is the next window's.

Each call is one transaction of the cron: a crash within a call rolls its chunk back
(staged again, enrolled by the next call); PostgreSQL empties the unlogged tables after
its own crash, and the window, never closed, is scanned again: the contacts already
enrolled are the journey's participants (filtered out) and the participants' key
(journey, contact, occurrence) drops any duplicate. Editing or stopping the journey
drops its pending window (scanned again with the new settings); so does a new first
step. The tables have no model: nothing of them is readable through the ORM, and the
uninstall drops them (``_UNMANAGED_TABLES``).
"""

import io

from psycopg2.extras import Json

from odoo import fields, models
from odoo.tools import SQL

from ..tools.copy_format import copy_column

WINDOW_TABLE = "sms_journey_window"
ROW_TABLE = "sms_journey_window_row"
# what the enrolment writes itself, and pausing or resuming: a pending window stays
KEEPS_WINDOW = frozenset(
    ("enrol_checked_at", "behaviour_track_id", "segment_run_key", "segment_cursor")
    + ("segment_next_run",)
)


class SmsJourney(models.Model):
    _inherit = "sms.journey"

    def init(self):
        res = super().init()
        self.env.cr.execute(
            SQL(
                """CREATE UNLOGGED TABLE IF NOT EXISTS %(window)s (
                       journey_id integer PRIMARY KEY
                           REFERENCES sms_journey(id) ON DELETE CASCADE,
                       until timestamp NOT NULL,
                       step_id integer NOT NULL,
                       total integer NOT NULL,
                       done integer NOT NULL,
                       close jsonb
                   );
                   CREATE UNLOGGED TABLE IF NOT EXISTS %(rows)s (
                       journey_id integer NOT NULL,
                       seq integer NOT NULL,
                       partner_id integer NOT NULL,
                       key varchar NOT NULL,
                       enrolled_at timestamp NOT NULL,
                       next_action_at timestamp NOT NULL,
                       source_model varchar,
                       source_res_id integer,
                       PRIMARY KEY (journey_id, seq)
                   )""",
                window=SQL.identifier(WINDOW_TABLE),
                rows=SQL.identifier(ROW_TABLE),
            )
        )
        return res

    def write(self, vals):
        if self._ids and (
            set(vals) - KEEPS_WINDOW - {"state"}
            or vals.get("state", "running") not in ("running", "paused")
        ):
            self._drop_windows()
        return super().write(vals)

    def unlink(self):
        self._drop_windows()
        return super().unlink()

    def _drop_windows(self):
        """Forget the pending windows of these journeys: scanned again by the next call."""
        self.env.cr.execute(
            SQL(
                """DELETE FROM %(rows)s WHERE journey_id = ANY(%(ids)s);
                   DELETE FROM %(window)s WHERE journey_id = ANY(%(ids)s)""",
                rows=SQL.identifier(ROW_TABLE),
                window=SQL.identifier(WINDOW_TABLE),
                ids=list(self._ids),
            )
        )

    def _enrol_window(self, now, limit):
        """Enrol the next ``limit`` contacts of the journey's pending window; without
        one, scan the window up to ``now`` and stage it: enrolled in the same call when
        it holds ``limit`` contacts at most, else by the next calls (the scan alone is
        a call's worth). Returns (created, contacts of the window left)."""
        limit = max(limit, 1)
        first = self._first_step()
        window = self._pending_window()
        if window and window["step_id"] != first.id:
            # the first step changed: the staged due times are its predecessor's
            self._drop_windows()
            window = None
        if not window:
            since = self.enrol_checked_at or self.date_start or now
            candidates, close = self._window_scan(since, now)
            window = self._stage_window(now, first, candidates if first else [])
            if window["total"] > limit:
                self._keep_window(window, close)
                return 0, window["total"]
            return self._enrol_chunk(window, window["total"], close)
        return self._enrol_chunk(window, min(window["done"] + limit, window["total"]), None)

    def _enrol_chunk(self, window, end, close):
        """Enrol the window's staged rows up to ``end``; close the window after its
        last. Returns (created, contacts of the window left)."""
        created = self._enrol_staged(window, end)
        if end < window["total"]:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET done = %s WHERE journey_id = %s",
                    SQL.identifier(WINDOW_TABLE),
                    end,
                    self.id,
                )
            )
            return len(created), window["total"] - end
        if window.get("pending"):
            close = self._window_close_data()
        self._drop_windows()
        self._window_close(window["until"], close)
        return len(created), 0

    def _pending_window(self):
        rows = self.env.execute_query(
            SQL(
                "SELECT until, step_id, total, done FROM %s WHERE journey_id = %s",
                SQL.identifier(WINDOW_TABLE),
                self.id,
            )
        )
        if not rows:
            return None
        until, step_id, total, done = rows[0]
        return {"until": until, "step_id": step_id, "total": total, "done": done, "pending": True}

    def _window_close_data(self):
        rows = self.env.execute_query(
            SQL("SELECT close FROM %s WHERE journey_id = %s", SQL.identifier(WINDOW_TABLE), self.id)
        )
        return rows[0][0] if rows else None

    def _keep_window(self, window, close):
        """Record the staged ``window`` pending, with what closing it records."""
        self.env.cr.execute(
            SQL(
                """INSERT INTO %s (journey_id, until, step_id, total, done, close)
                   VALUES (%s, %s, %s, %s, 0, %s)""",
                SQL.identifier(WINDOW_TABLE),
                self.id,
                window["until"],
                window["step_id"],
                window["total"],
                Json(close) if close is not None else None,
            )
        )

    def _window_scan(self, since, until):
        """(the filtered candidates of ``(since, until]``, what closing the window
        records: None here, see ``_window_close``)."""
        return self._candidates(since, until), None

    def _window_close(self, until, close):
        """Close the window scanned up to ``until``; ``close`` is what its scan gave
        to record (``_window_scan``)."""
        self.enrol_checked_at = until

    def _stage_window(self, until, first, candidates):
        """Stage ``candidates`` (filtered, earliest first) with when each enters and
        when ``first`` is due for each, numbered from 1; returns the window. Written by
        ``COPY``: a day's window is tens of thousands of rows."""
        self._drop_windows()
        if candidates:
            entered, dues = self._entries(first, candidates)
            journey_id = self.id
            columns = zip(
                range(1, len(candidates) + 1),
                candidates,
                copy_column(cand.key for cand in candidates),
                entered,
                dues,
                copy_column(cand.source_model for cand in candidates),
                copy_column(cand.source_res_id for cand in candidates),
                strict=True,
            )
            lines = "".join(
                f"{journey_id}\t{seq}\t{cand.partner_id}\t{key}\t{at}\t{due}\t{model}\t{res_id}\n"
                for seq, cand, key, at, due, model, res_id in columns
            )
            self.env.cr.copy_expert(
                f"COPY {ROW_TABLE} (journey_id, seq, partner_id, key, enrolled_at, "
                "next_action_at, source_model, source_res_id) FROM STDIN",
                io.StringIO(lines),
            )
        return {"until": until, "step_id": first.id, "total": len(candidates), "done": 0}

    def _enrol_staged(self, window, end):
        """Move the staged rows ``(done, end]`` of the window to the participants."""
        if end <= window["done"]:
            return self.env["sms.journey.participant"]
        Participant = self.env["sms.journey.participant"]
        Participant.flush_model()
        now, uid = fields.Datetime.now(), self.env.uid
        rows = self.env.execute_query(
            SQL(
                """WITH chunk AS (
                       DELETE FROM %(rows)s
                        WHERE journey_id = %(journey)s AND seq > %(done)s AND seq <= %(end)s
                    RETURNING *)
                   INSERT INTO sms_journey_participant
                          (journey_id, partner_id, company_id, key, source_model,
                           source_res_id, state, step_id, enrolled_at, next_action_at,
                           create_uid, create_date, write_uid, write_date)
                   SELECT %(journey)s, partner_id, %(company)s, key, source_model,
                          source_res_id, 'running', %(step)s, enrolled_at, next_action_at,
                          %(uid)s, %(now)s, %(uid)s, %(now)s
                     FROM chunk ORDER BY seq
                       ON CONFLICT (journey_id, partner_id, key) DO NOTHING
                RETURNING id, next_action_at""",
                rows=SQL.identifier(ROW_TABLE),
                journey=self.id,
                done=window["done"],
                end=end,
                company=self.company_id.id,
                step=window["step_id"],
                uid=uid,
                now=now,
            )
        )
        participants = Participant.browse([row[0] for row in rows])
        self._entered(participants, min((row[1] for row in rows), default=None), now)
        return participants
