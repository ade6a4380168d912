import logging
import time

from odoo import api, models
from odoo.tools import SQL

from .sms_gateway_message import _testing

_logger = logging.getLogger(__name__)

# Partner ids per committed batch: one batch must write its contacts' facts in under a
# second, so that the row locks of a batch never hold a contact's edit or a checkout
# longer (bench/bench_install.py measures it; the figure is in bench/README.md).
BACKFILL_BATCH = 2000
# One cron call works this long, then reports its progress: Odoo calls the job again at
# once while some remain (ir.cron's progress API), within the cron's time limit.
BACKFILL_SECONDS = 60
# The job's state (ir.config_parameter, read and written in SQL: the ORM's parameter
# cache is cleared in every worker at each write, which a batch a second must not do).
NEXT_ID_KEY = "sms_journey.facts_backfill_next_id"
LAST_ID_KEY = "sms_journey.facts_backfill_last_id"
# The contact fields the backfill fills: journeys selecting on them wait for it.
FACT_FIELDS = (
    "first_order_date",
    "last_order_date",
    "last_interaction_date",
    "last_activity_date",
    "journey_stage",
    "days_inactive",
    "is_inactive",
    "sms_order_gap_days",
    "sms_order_gap_source",
    "sms_next_order_predicted",
)


class ResPartner(models.Model):
    """The customer facts of existing contacts, computed after the install by a job.

    At install (and when a company starts counting website visits or e-mails) every
    contact's facts are recomputed from its history (``_sms_recompute_activity_facts``
    with an id range). Inside the install transaction that took minutes on a large shop,
    holding the contacts table. Now ``_sms_facts_backfill_start`` records the range of
    ids to walk and starts the *Compute the customer facts* cron, which walks it in
    batches of ``BACKFILL_BATCH`` ids, each committed, only our columns written (no
    ``write_date`` moves), reporting its progress to Odoo's cron runner. A database
    with no more contacts than one batch (a new one, the tests) is done at once.

    Until it is done the journeys that select on the facts wait
    (``sms.journey._waits_for_facts``) and the journeys and settings show how far it is.
    """

    _inherit = "res.partner"

    @api.model
    def _sms_facts_backfill_start(self):
        """Recompute the facts of every contact from its history: at once when they fit
        in one batch, else by the backfill cron (started now)."""
        # the priors of the one-order customers first, then every contact's rhythm in
        # one reading of the orders: every batch writes its contacts' from the stage
        self._sms_rhythm_stage(priors=True)
        self.env.cr.execute(SQL("SELECT min(id), max(id), count(*) FROM res_partner"))
        first, last, count = self.env.cr.fetchone()
        if first is None:
            self._sms_facts_backfill_save(None)
            return
        if count <= BACKFILL_BATCH:
            self._sms_recompute_activity_facts(id_range=(first, last))
            self._sms_facts_backfill_save(None)
            self._sms_rhythm_unstage()
            return
        self._sms_facts_backfill_save((first, last))
        cron = self.env.ref("sms_journey.ir_cron_sms_facts_backfill", raise_if_not_found=False)
        if cron:
            cron = cron.sudo()
            if not cron.active:
                cron.active = True
            cron._trigger()

    @api.model
    def _sms_facts_backfill_state(self):
        """``(next id, last id)`` still to walk, or ``None`` when the facts are computed."""
        self.env.cr.execute(
            SQL(
                "SELECT key, value FROM ir_config_parameter WHERE key IN %s",
                (NEXT_ID_KEY, LAST_ID_KEY),
            )
        )
        values = dict(self.env.cr.fetchall())
        try:
            next_id, last_id = int(values[NEXT_ID_KEY]), int(values[LAST_ID_KEY])
        except (KeyError, ValueError):
            return None
        return (next_id, last_id) if next_id <= last_id else None

    @api.model
    def _sms_facts_backfill_save(self, state):
        """Record ``(next id, last id)`` still to walk; ``None``: done."""
        if state is None:
            self.env.cr.execute(
                SQL("DELETE FROM ir_config_parameter WHERE key IN %s", (NEXT_ID_KEY, LAST_ID_KEY))
            )
            return
        for key, value in ((NEXT_ID_KEY, state[0]), (LAST_ID_KEY, state[1])):
            self.env.cr.execute(
                SQL(
                    """INSERT INTO ir_config_parameter (key, value, create_date, write_date)
                       VALUES (%s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
                       ON CONFLICT (key) DO UPDATE
                       SET value = EXCLUDED.value, write_date = EXCLUDED.write_date""",
                    key,
                    str(value),
                )
            )

    @api.model
    def _sms_facts_backfill_progress(self):
        """How far the backfill is, in percent of the ids to walk (0–99), or ``None``
        when the facts are computed."""
        state = self._sms_facts_backfill_state()
        if state is None:
            return None
        next_id, last_id = state
        self.env.cr.execute(SQL("SELECT min(id) FROM res_partner"))
        first = min(self.env.cr.fetchone()[0] or next_id, next_id)
        return min(int(100 * (next_id - first) / max(last_id - first + 1, 1)), 99)

    @api.model
    def _cron_sms_facts_backfill(self, batch_size=BACKFILL_BATCH, max_seconds=BACKFILL_SECONDS):
        """The backfill job: the next batches of ids, each committed, for ``max_seconds``
        at most, then the progress reported (Odoo calls again at once while some
        remain; the cron switches itself off when done). Returns the ids walked."""
        state = self._sms_facts_backfill_state()
        if state is None:
            self.env["ir.cron"]._notify_progress(done=0, remaining=0, deactivate=True)
            return 0
        next_id, last_id = state
        auto_commit = not _testing()
        started = time.monotonic()
        walked = 0
        while next_id <= last_id:
            batch_started = time.monotonic()
            until = min(next_id + batch_size - 1, last_id)
            updated = self._sms_recompute_activity_facts(id_range=(next_id, until))
            walked += until - next_id + 1
            next_id = until + 1
            self._sms_facts_backfill_save((next_id, last_id) if next_id <= last_id else None)
            if auto_commit:
                # one batch per transaction: its row locks last one batch, and what is
                # done stays done if the job is interrupted
                self.env.cr.commit()  # pylint: disable=invalid-commit
            _logger.info(
                "Customer facts: ids up to %s of %s, %s contacts updated in %.2f s",
                until,
                last_id,
                updated,
                time.monotonic() - batch_started,
            )
            if time.monotonic() - started >= max_seconds:
                break
        remaining = max(last_id - next_id + 1, 0)
        if not remaining:
            self._sms_rhythm_unstage()
        self.env["ir.cron"]._notify_progress(
            done=walked, remaining=remaining, deactivate=not remaining
        )
        return walked
