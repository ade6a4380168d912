from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import tagged

from ..models.sms_journey_behaviour import SmsJourney as BehaviourJourney
from ..models.sms_journey_enrolment import SmsJourney as EnrolmentJourney
from ..models.sms_journey_window import ROW_TABLE, WINDOW_TABLE
from ..tools.journey import Candidate
from .common import ShopViewsMixin, SmsJourneyCase, new_sms_user

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window
LOGGER = "odoo.addons.sms_journey.models.isolation"


@tagged("post_install", "-at_install")
class TestJourneyWindow(ShopViewsMixin, SmsJourneyCase):
    """A trigger's window scanned once, then enrolled in chunks across the cron's calls
    (``sms_journey_window.py``): five contacts abandon the shoes' page, the journey
    enrols two per call."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.viewers = cls.partner
        for i in range(4):
            cls.viewers |= cls.env["res.partner"].create(
                {"name": f"Viewer {i}", "mobile": f"+39 333 000 11{i:02d}", "tz": "Europe/Rome"}
            )

    def setUp(self):
        super().setUp()
        self.journey = self.behaviour_journey(
            "browse_abandonment", self.viewers, browse_idle_hours=1, reentry_policy="never"
        )
        with self.frozen_now(T0):
            self.journey.action_start()
        for minutes, partner in enumerate(self.viewers):
            self.view(partner, self.shoes, T0 + timedelta(minutes=minutes))
        self.now = T0 + timedelta(hours=2)

    def enrol(self, limit=2):
        with self.frozen_now(self.now):
            return self.journey._enrol(self.now, limit)

    def scan_and_enrol_two(self):
        """The window's first call scans and stages it, the second enrols two."""
        self.assertEqual(self.enrol(), (0, 5))
        self.assertEqual(self.staged(), 5)
        self.assertEqual(self.enrol(), (2, 3))

    def staged(self):
        self.env.cr.execute(
            f"SELECT count(*) FROM {ROW_TABLE} WHERE journey_id = %s", [self.journey.id]
        )
        return self.env.cr.fetchone()[0]

    def assertEnrolledOnce(self, partners):
        participants = self.journey.participant_ids
        self.assertEqual(participants.partner_id, partners)
        self.assertEqual(len(participants), len(partners), "nobody twice")

    def test_window_scanned_once_enrolled_in_chunks(self):
        scan = BehaviourJourney._candidates_browse_abandonment
        with patch.object(
            BehaviourJourney, "_candidates_browse_abandonment", autospec=True, side_effect=scan
        ) as scanned:
            self.scan_and_enrol_two()
            self.assertEqual(self.staged(), 3)
            self.assertEqual(self.journey.enrol_checked_at, T0, "the window is not closed")
            self.assertEqual(self.enrol(), (2, 1))
            # a later call goes on with the pending window, whatever its own time
            self.now += timedelta(minutes=15)
            self.assertEqual(self.enrol(), (1, 0))
        self.assertEqual(scanned.call_count, 1)
        self.assertEqual(self.staged(), 0)
        self.assertIsNone(self.journey._pending_window())
        self.assertEqual(self.journey.enrol_checked_at, T0 + timedelta(hours=2))
        self.assertEnrolledOnce(self.viewers)
        participants = self.journey.participant_ids.sorted("enrolled_at")
        # each entered when its view fell idle, the first step due then (no wait)
        self.assertEqual(
            participants.mapped("enrolled_at"),
            [T0 + timedelta(hours=1, minutes=m) for m in range(5)],
        )
        self.assertEqual(participants.mapped("next_action_at"), participants.mapped("enrolled_at"))
        self.assertEqual(set(participants.mapped("source_res_id")), {self.shoes.id})

    def test_keys_written_by_copy_read_back_as_they_were(self):
        """The staged rows are written with COPY: tabs, newlines and backslashes in a
        key or a source model come back as they were."""
        keys = ["tab\there", "new\nline\r", "back\\slash\\N", "\\N", ""]
        candidates = [
            Candidate(partner.id, key, self.now, "odd\tmodel" if i % 2 else None, i or None)
            for i, (partner, key) in enumerate(zip(self.viewers, keys, strict=True))
        ]
        with (
            patch.object(EnrolmentJourney, "_candidates", return_value=candidates),
            self.frozen_now(self.now),
        ):
            self.assertEqual(self.journey._enrol(self.now, 10), (5, 0))
        read = {
            p.partner_id.id: (p.key, p.source_model or None, p.source_res_id or None)
            for p in self.journey.participant_ids
        }
        self.assertEqual(
            read, {c.partner_id: (c.key, c.source_model, c.source_res_id) for c in candidates}
        )

    def test_cron_reports_the_contacts_left(self):
        with (
            patch.object(type(self.env["ir.cron"]), "_notify_progress") as progress,
            self.frozen_now(self.now),
        ):
            self.env["sms.journey"]._cron_enrol(batch_size=2)
            # nobody enrolled yet is progress too: the cron runs again at once
            progress.assert_called_once_with(done=5, remaining=5)
            self.env["sms.journey"]._cron_enrol(batch_size=2)
            progress.assert_called_with(done=2, remaining=3)

    def test_a_small_window_is_enrolled_by_the_call_that_scans_it(self):
        self.assertEqual(self.enrol(limit=5), (5, 0))
        self.assertEqual(self.staged(), 0)
        self.assertIsNone(self.journey._pending_window())
        self.assertEqual(self.journey.enrol_checked_at, self.now)
        self.assertEnrolledOnce(self.viewers)

    def test_a_call_failing_after_its_chunk_loses_nobody(self):
        """The cron's call fails after moving its chunk: its savepoint is rolled back,
        the chunk is staged again and the next call enrols it."""
        self.scan_and_enrol_two()
        entered = EnrolmentJourney._entered

        def fail(journey, participants, next_due, now):
            entered(journey, participants, next_due, now)
            raise ValueError("worker killed")

        with (
            patch.object(EnrolmentJourney, "_entered", fail),
            self.assertLogs(LOGGER, "ERROR"),
            self.frozen_now(self.now),
        ):
            self.env["sms.journey"]._cron_enrol(batch_size=2)
        self.assertEqual(len(self.journey.participant_ids), 2)
        self.assertEqual(self.staged(), 3)
        self.assertEqual(self.enrol(), (2, 1))
        self.assertEqual(self.enrol(), (1, 0))
        self.assertEnrolledOnce(self.viewers)

    def test_database_crash_scans_the_window_again(self):
        """PostgreSQL empties its unlogged tables after a crash: the window, never
        closed, is scanned again; those already enrolled are not enrolled twice."""
        self.scan_and_enrol_two()
        self.env.cr.execute(f"TRUNCATE {ROW_TABLE}, {WINDOW_TABLE}")
        self.assertEqual(self.enrol(10), (3, 0))
        self.assertEnrolledOnce(self.viewers)
        self.assertEqual(self.journey.enrol_checked_at, self.now)

    def test_edited_journey_drops_its_pending_window(self):
        self.scan_and_enrol_two()
        first_two = self.journey.participant_ids.partner_id
        last = self.viewers.sorted("id")[-1]
        self.journey.audience_domain = f"[('id', 'in', {(self.viewers - last).ids})]"
        self.assertIsNone(self.journey._pending_window())
        self.assertEqual(self.staged(), 0)
        self.assertEqual(self.enrol(10), (2, 0))
        self.assertEnrolledOnce(self.viewers - last)
        self.assertLess(first_two, self.viewers - last)

    def test_pause_keeps_the_window_stop_drops_it(self):
        self.scan_and_enrol_two()
        self.journey.action_pause()
        self.journey.action_resume()
        self.assertEqual(self.staged(), 3)
        self.assertEqual(self.journey._pending_window()["done"], 2)
        self.journey.action_stop()
        self.assertIsNone(self.journey._pending_window())
        self.assertEqual(self.staged(), 0)

    def test_new_first_step_scans_the_window_again(self):
        self.scan_and_enrol_two()
        old = self.journey.step_ids
        new = self.env["sms.journey.step"].create(
            dict(self.sms_step(self.tpl_product, wait=3, unit="hours"), journey_id=self.journey.id)
        )
        new.sequence = old.sequence - 1
        self.assertEqual(self.journey._first_step(), new)
        self.assertEqual(self.enrol(10), (3, 0))
        self.assertEnrolledOnce(self.viewers)
        late = self.journey.participant_ids.filtered(lambda p: p.step_id == new)
        self.assertEqual(len(late), 3)
        for participant in late:
            self.assertEqual(
                participant.next_action_at, participant.enrolled_at + timedelta(hours=3)
            )

    def test_deleted_journey_leaves_nothing_staged(self):
        self.scan_and_enrol_two()
        self.journey.participant_ids.unlink()
        self.journey.unlink()
        self.env.cr.execute(f"SELECT count(*) FROM {ROW_TABLE}")
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.env.cr.execute(f"SELECT count(*) FROM {WINDOW_TABLE}")
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_staged_contacts_are_not_readable(self):
        """The staged contacts live outside the ORM: neither an SMS user nor an SMS
        manager reads anything of them on the journey."""
        self.scan_and_enrol_two()
        staged = (self.viewers - self.journey.participant_ids.partner_id).ids
        for group in ("group_sms_journey_user", "group_sms_journey_manager"):
            user = new_sms_user(self.env, f"window_{group}", groups=f"sms_journey.{group}")
            journey = self.journey.with_user(user)
            names = journey.fields_get(attributes=["type"])
            self.assertFalse([name for name in names if "pending" in name or "window" in name])
            values = journey.read(list(names))[0]
            for pid in staged:
                self.assertNotIn(
                    pid,
                    [v for v in values.values() if isinstance(v, int) and not isinstance(v, bool)],
                )
