import logging
from datetime import timedelta
from operator import attrgetter

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from ..tools import flow
from ..tools import journey as journey_tools
from ..tools.journey import Candidate
from .bulk_sql import insert_rows
from .isolation import run_isolated
from .res_partner_facts_backfill import FACT_FIELDS

_logger = logging.getLogger(__name__)


class SmsJourney(models.Model):
    """Enrolment: ``_cron_enrol`` asks each running journey's trigger for its
    candidates since the last check (``_trigger_candidates``, in
    ``sms_journey_triggers.py``) or walks a segment's audience, filters them (audience,
    running participants, re-entry) and creates the participants in one INSERT, the
    control group drawn on the way."""

    _inherit = "sms.journey"

    @api.model
    def _cron_enrol(self, batch_size=5000):
        """Evaluate the triggers of running journeys and enrol the matching contacts,
        ``batch_size`` per journey and call (the cron runs again at once while some are
        left: ``_notify_progress``).

        Each journey scans the window since its last check once, so the cost follows
        what happened since then, and enrols it in chunks (``_enrol_window``); a segment
        journey walks its audience with a cursor.
        """
        now = fields.Datetime.now()
        done, remaining = 0, 0
        for journey in self.search([("state", "=", "running")]):
            # a journey whose trigger or audience raises must not stop the others
            ok, result = run_isolated(
                journey, self.env._("Enrolment"), journey._enrol, now, batch_size
            )
            if ok:
                done += result[0]
                remaining += result[1]
        # a chunk that enrolled nobody (all filtered out) is progress too: with done=0
        # the cron would wait its 15 minutes before the next chunk
        self.env["ir.cron"]._notify_progress(done=done or remaining, remaining=remaining)
        return done

    def _enrol(self, now, limit):
        """Enrol this journey's candidates up to ``now``. Returns (created, remaining).

        A journey selecting on the customer facts waits while the backfill job computes
        them (after the install): its window since the last check is kept, so nobody
        is missed once they are there."""
        self.ensure_one()
        if self._waits_for_facts():
            _logger.info(
                "Journey %s (%s): enrolment skipped, the customer facts are being computed",
                self.name,
                self.id,
            )
            return 0, 0
        if self.trigger == "segment":
            return self._enrol_segment(now, limit)
        # scanned once, enrolled in chunks (sms_journey_window.py)
        return self._enrol_window(now, limit)

    def _enrol_segment(self, now, limit):
        """Walk the audience in id order, ``limit`` partners per call."""
        if not self.segment_run_key:
            if not self.segment_next_run or self.segment_next_run > now:
                return 0, 0
            self.write({"segment_run_key": fields.Date.to_string(now.date()), "segment_cursor": 0})
        partners = self.env["res.partner"].search(
            self._audience() + [("id", ">", self.segment_cursor)], order="id", limit=limit
        )
        candidates = [Candidate(p.id, self.segment_run_key, now) for p in partners]
        created = self._create_participants(self._filter_candidates(candidates))
        if len(partners) < limit:
            interval = self.segment_interval_days
            self.write(
                {
                    "segment_run_key": False,
                    "segment_cursor": 0,
                    "segment_next_run": now + timedelta(days=interval) if interval else False,
                }
            )
            return len(created), 0
        self.segment_cursor = partners[-1].id
        return len(created), 1

    def _depends_on_facts(self):
        """Whether this journey's trigger or audience reads the customer facts
        (inactivity, first order, stages, order dates)."""
        self.ensure_one()
        if self.trigger in ("inactivity", "due_to_reorder"):
            return True
        if self.trigger == "anniversary" and (
            not self.anniversary_field_id or self.anniversary_field_id.name in FACT_FIELDS
        ):
            return True
        # a field name anywhere in the filter (paths included): waiting by mistake only
        # delays the journey until the facts are there
        audience = self.audience_domain or ""
        return any(name in audience for name in FACT_FIELDS)

    def _waits_for_facts(self):
        """Whether this journey must wait for the customer facts backfill."""
        return (
            self._depends_on_facts()
            and self.env["res.partner"]._sms_facts_backfill_state() is not None
        )

    def _audience(self):
        try:
            return safe_eval(self.audience_domain or "[]") or []
        except Exception:  # an invalid filter should not stop the other journeys
            _logger.warning("Invalid audience filter on journey %s", self.id)
            return [("id", "=", 0)]

    def _candidates(self, since, until):
        """The ``journey.Candidate``s whose trigger moment lies in ``(since, until]``,
        filtered by the audience, the running participants and the re-entry policy.
        Read-only: the preview uses it too."""
        self.ensure_one()
        method = self._trigger_candidates().get(self.trigger)
        # an empty window (the cron run in the second of *Start*) is still asked: the
        # triggers of a state rather than an event (an idle cart) find what is due now
        if not method or until < since:
            return []
        return self._filter_candidates(method(since, until))

    def _trigger_candidates(self):
        """{trigger: method(since, until) returning the ``journey.Candidate``s whose
        moment lies in the window, unfiltered}. A segment journey has none: it walks its
        audience (``_enrol_segment``)."""
        return {
            "abandoned_cart": self._candidates_abandoned_cart,
            "browse_abandonment": self._candidates_browse_abandonment,
            "price_drop": self._candidates_price_drop,
            "birthday": self._candidates_birthday,
            "anniversary": self._candidates_anniversary,
            "inactivity": self._candidates_inactivity,
            "due_to_reorder": self._candidates_due_to_reorder,
            "order_confirmed": self._candidates_order_confirmed,
            "order_delivered": self._candidates_order_delivered,
            "invoice_overdue": self._candidates_invoice_overdue,
        }

    def _filter_candidates(self, candidates):
        """``candidates`` in the audience, not running, allowed back in by the re-entry
        policy, one per contact, earliest first."""
        if not candidates:
            return []
        partner_ids = sorted({c.partner_id for c in candidates})
        allowed = self._audience_among(partner_ids)
        history = self._enrolment_history(partner_ids)
        policy, days = self.reentry_policy, self.reentry_days
        result, seen = [], set()
        for cand in sorted(candidates, key=attrgetter("moment")):
            pid = cand.partner_id
            if pid not in allowed or pid in seen:
                continue
            past = history.get(pid)
            if past:
                if any(key == cand.key or state == "running" for key, state, _at in past):
                    continue
                if not journey_tools.within_reentry(
                    [at for _key, _state, at in past], cand.moment, policy, days
                ):
                    continue
            seen.add(pid)
            result.append(cand)
        return result

    def _audience_among(self, partner_ids):
        """The ids of ``partner_ids`` in the journey's audience (archived ones too)."""
        audience = self._audience()
        if not audience and self.env.su:
            # no filter and no record rule: every contact is in (the candidates were
            # just read from the database), no search over tens of thousands of ids
            return set(partner_ids)
        Partner = self.env["res.partner"].with_context(active_test=False)
        return set(Partner.search(audience + [("id", "in", partner_ids)]).ids)

    def _enrolment_history(self, partner_ids):
        """{partner id: [(key, state, enrolled_at)]} of this journey's participants
        among ``partner_ids`` (in SQL: a trigger's day may bring tens of thousands)."""
        self.env["sms.journey.participant"].flush_model(
            ["journey_id", "partner_id", "key", "state", "enrolled_at"]
        )
        rows = self.env.execute_query(
            SQL(
                """SELECT partner_id, key, state, enrolled_at FROM sms_journey_participant
                    WHERE journey_id = %s AND partner_id = ANY(%s)""",
                self.id,
                partner_ids,
            )
        )
        history = {}
        for partner_id, key, state, enrolled_at in rows:
            history.setdefault(partner_id, []).append((key, state, enrolled_at))
        return history

    def _mark_held_out(self, participants, now):
        """Put in the control group the new ``participants`` of the journey's own
        control group and of the company's global one (marketing journeys only:
        transactional SMS are never held out): they walk the journey as its control
        participants (counted in its treated-vs-control figures), never texted."""
        seed, percent = self.holdout_seed, self.holdout_percent
        held = {pid for pid in participants.ids if flow.in_holdout(seed, pid, percent)}
        period = self.sms_kind == "marketing" and self.env["sms.global.holdout.period"]._running(
            self.company_id, now
        )
        if period and participants:
            # the period's draw written in SQL (``_held_out_sql``, the same as
            # ``_holds_out``): no read of each participant's contact
            held.update(
                row[0]
                for row in self.env.execute_query(
                    SQL(
                        "SELECT id FROM sms_journey_participant WHERE id = ANY(%s) AND %s",
                        participants.ids,
                        period._held_out_sql(SQL("partner_id")),
                    )
                )
            )
        if held:
            participants.browse(sorted(held)).write({"holdout": True})

    def _create_participants(self, candidates):
        """Create the participants of ``candidates`` (``journey.Candidate``); the unique
        key (journey, partner, key) makes parallel enrolment harmless: a duplicate is
        dropped by ``ON CONFLICT DO NOTHING``. (A trigger's window goes by
        ``_enrol_window``: staged, then moved in chunks.)"""
        first = self._first_step()
        if not candidates or not first:
            return self.env["sms.journey.participant"]
        entered, dues = self._entries(first, candidates)
        # the journey's values read once
        journey_id, company_id, step_id = self.id, self.company_id.id, first.id
        rows = [
            {
                "journey_id": journey_id,
                "partner_id": cand.partner_id,
                "company_id": company_id,
                "key": cand.key,
                "source_model": cand.source_model,
                "source_res_id": cand.source_res_id,
                "state": "running",
                "step_id": step_id,
                "enrolled_at": enrolled_at,
                "next_action_at": due,
            }
            for cand, enrolled_at, due in zip(candidates, entered, dues, strict=True)
        ]
        # one INSERT for the batch
        participants = insert_rows(
            self.env["sms.journey.participant"],
            rows,
            skip_conflict=("journey_id", "partner_id", "key"),
        )
        self._entered(participants, min(dues), fields.Datetime.now())
        return participants

    def _entries(self, first, candidates):
        """([when each of ``candidates`` enters], [when ``first`` is due for each])."""
        # nobody enters before the journey started (caught-up contacts included)
        start = self.date_start
        entered = [max(cand.moment, start) if start else cand.moment for cand in candidates]
        # one read of the contacts' facts for the batch, if the step needs them
        partners = self.env["res.partner"].browse([c.partner_id for c in candidates])
        return entered, first._entry_due_times(partners, entered)

    def _entered(self, participants, next_due, now):
        """After the INSERT of new ``participants`` (the first step due at ``next_due``
        at the earliest): the control groups' draw, the step cron woken."""
        self._mark_held_out(participants, now)
        # rows inserted in SQL: the ORM cache of the journey's one2many is stale
        self.invalidate_recordset(["participant_ids"])
        if participants:
            cron = self.env.ref("sms_journey.ir_cron_sms_journey_steps", raise_if_not_found=False)
            if cron:
                cron._trigger(next_due if next_due > now else None)
