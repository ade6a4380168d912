"""Send-time optimisation (issue 25, part 3): each contact's best hour of the week from
its clicks and replies, recomputed daily in SQL, and journey steps sent at it within
the company's and the legal windows, end to end with frozen time."""

import random
from datetime import datetime, timedelta

import pytz

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..tools import best_hour
from .common import (
    JourneyCaseMixin,
    JsonRpcActorMixin,
    SmsJourneyCase,
    SmsJourneyHttpCase,
    SmsResultsAssertions,
    new_sms_user,
)

NEW_YORK = "America/New_York"
# Tuesday 8 December 2026, 06:00 in New York (EST, UTC-5): before the windows open
TUESDAY_EARLY = datetime(2026, 12, 8, 11, 0)
TUESDAY_18 = 1 * 24 + 18
TUESDAY_22 = 1 * 24 + 22


@tagged("post_install", "-at_install")
class TestBestHour(JourneyCaseMixin, SmsResultsAssertions, SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_frequency_cap = 0
        cls.company.partner_id.tz = "Europe/Rome"

    def miami(self, name, suffix, consent=True):
        return self.make_partner(
            name,
            f"+1 305 555 12{suffix}",
            tz=NEW_YORK,
            consent=consent,
            country_id=self.env.ref("base.us").id,
        )

    def replies(self, partner, *moments):
        self.env["sms.interaction"].sudo().create(
            [
                {
                    "partner_id": partner.id,
                    "number": partner.phone_sanitized,
                    "body": "Thanks",
                    "received_at": moment,
                    "gateway_id": self.gateway.id,
                }
                for moment in moments
            ]
        )

    def recompute(self, moment=TUESDAY_EARLY):
        with self.frozen_now(moment):
            self.env["res.partner"]._cron_sms_best_hours()
        self.env.invalidate_all()

    def tuesdays_at(self, utc_hour):
        """The three Tuesdays before TUESDAY_EARLY at ``utc_hour`` UTC (EST: UTC-5)."""
        tuesdays = (datetime(2026, 11, 17, 0, 5), datetime(2026, 11, 24, 0, 5),
                    datetime(2026, 12, 1, 0, 40))  # fmt: skip
        return [tuesday + timedelta(hours=utc_hour) for tuesday in tuesdays]

    def test_best_hour_recomputed_in_sql_and_shown(self):
        regular = self.miami("Regular", "01")
        self.replies(regular, *self.tuesdays_at(23), datetime(2026, 11, 16, 14, 0))
        newcomer = self.miami("Newcomer", "02")
        self.recompute()
        self.assertEqual(regular.sms_best_hour_of_week, TUESDAY_18)
        self.assertEqual(regular.sms_best_hour_events, 4)
        self.assertEqual(regular.sms_best_hour_label.split(" (")[0], "Tuesday 18:00")
        self.assertFalse(newcomer.sms_best_hour_events)
        self.assertFalse(newcomer.sms_best_hour_label)
        # the SQL agrees with the pure function on the same histograms
        self.assertEqual(
            best_hour.best_hour_of_week({TUESDAY_18: 3, 9: 1}, {TUESDAY_18: 3, 9: 1}),
            TUESDAY_18,
        )
        # a year later the replies are too old: no best hour any more
        self.recompute(TUESDAY_EARLY + timedelta(days=400))
        self.assertFalse(regular.sms_best_hour_events)
        self.assertFalse(regular.sms_best_hour_label)

    def test_sql_agrees_with_the_pure_choice(self):
        """The batched SQL picks what ``best_hour.best_hour_of_week`` picks from the same
        events, ties and smoothing included, across zones."""
        rng = random.Random(25)
        zones = [NEW_YORK, "Europe/Rome", "Asia/Kolkata", False]
        contacts = {}
        for index in range(12):
            partner = self.make_partner(f"C{index}", f"+39 333 111 {index:04d}")
            partner.tz = zones[index % len(zones)]
            moments = [
                TUESDAY_EARLY - timedelta(hours=rng.choice([5, 29, 30, 77, 100, 101]) + 24 * 7 * w)
                for w in range(rng.randint(0, 4))
            ]
            self.replies(partner, *moments)
            contacts[partner] = moments
        since = TUESDAY_EARLY - timedelta(days=365)
        self.recompute()
        prior = self.env["res.partner"]._sms_best_hour_counts(since)
        for partner, moments in contacts.items():
            tz = pytz.timezone(partner.tz or "UTC")
            own = {}
            for moment in moments:
                bucket = best_hour.hour_of_week(pytz.utc.localize(moment).astimezone(tz))
                own[bucket] = own.get(bucket, 0) + 1
            expected = best_hour.best_hour_of_week(own, prior)
            with self.subTest(partner=partner.name, own=own):
                self.assertEqual(partner._sms_best_hour(), expected)
                self.assertEqual(partner.sms_best_hour_events, len(moments))

    def test_one_reply_leans_on_the_company(self):
        crowd = self.miami("Crowd", "03")
        self.replies(crowd, *self.tuesdays_at(23), *self.tuesdays_at(23))
        shy = self.miami("Shy", "04")
        self.replies(shy, datetime(2026, 11, 16, 14, 0))  # Monday 09:00
        self.recompute()
        self.assertEqual(shy.sms_best_hour_of_week, TUESDAY_18)
        self.assertEqual(shy.sms_best_hour_events, 1)

    def test_employee_without_sms_rights_cannot_read_the_best_hour(self):
        regular = self.miami("Regular", "01")
        self.replies(regular, *self.tuesdays_at(23))
        self.recompute()
        employee = new_test_user(self.env, "employee_bh", groups="base.group_user")
        sms_user = new_test_user(
            self.env, "sms_user_bh", groups="sms_journey.group_sms_journey_user"
        )
        as_employee = regular.with_user(employee)
        self.assertEqual(as_employee.name, "Regular")
        for field in ("sms_best_hour_of_week", "sms_best_hour_events", "sms_best_hour_label"):
            with self.assertRaises(AccessError):
                as_employee.read([field])
        self.assertTrue(regular.with_user(sms_user).sms_best_hour_label.startswith("Tuesday 18:00"))

    def test_step_at_the_best_hour_end_to_end(self):
        """Trigger → best hour → policy → send → results, at frozen times."""
        regular = self.miami("Regular", "01")
        self.replies(regular, *self.tuesdays_at(23))
        newcomer = self.miami("Newcomer", "02")
        night_owl = self.miami("Night owl", "05")
        self.replies(night_owl, *self.tuesdays_at(3 + 24))  # Tuesdays 22:00 (Wed 03:00 UTC)
        unconsenting = self.miami("No consent", "06", consent=False)
        self.recompute()
        self.assertEqual(night_owl.sms_best_hour_of_week, TUESDAY_22)
        people = regular | newcomer | night_owl | unconsenting
        journey = self.make_journey(
            [self.sms_step(self.tpl_link, send_at_best_hour=True), self.sms_step(wait=1)],
            audience_domain=f"[('id', 'in', {people.ids})]",
        )
        # the preview shows when each contact would get the first step
        with self.frozen_now(TUESDAY_EARLY):
            preview = self.env["sms.journey.preview"].create({"journey_id": journey.id, "days": 1})
            preview.action_compute()
        first = journey.step_ids.sorted("sequence")[0]
        planned = {
            line.partner_id: line.scheduled_at
            for line in preview.line_ids
            if line.step_id == first and not line.skip_reason
        }
        expected = {
            regular: datetime(2026, 12, 8, 23, 0),  # Tuesday 18:00 in New York
            newcomer: datetime(2026, 12, 8, 13, 0),  # 08:00: the windows' start
            # 22:00 is outside Florida's window (8–20) and the company's (8–21): 19:00
            night_owl: datetime(2026, 12, 9, 0, 0),
        }
        self.assertEqual(planned, expected)
        self.assertTrue(preview.line_ids.filtered(lambda line: line.step_id == first))
        self.assertTrue(
            all(line.send_at_best_hour for line in preview.line_ids if line.step_id == first)
        )

        with self.frozen_now(TUESDAY_EARLY):
            journey.action_start()
        self.run_crons(TUESDAY_EARLY)
        due = {p.partner_id: p.next_action_at for p in journey.participant_ids}
        self.assertEqual(due, {**expected, unconsenting: datetime(2026, 12, 8, 13, 0)})
        self.assertFalse(self.traces(journey), "nothing sent before the windows open")

        self.run_crons(datetime(2026, 12, 8, 13, 0))
        with self.frozen_now(datetime(2026, 12, 8, 13, 1)):
            self.dispatch()
        self.assertSmsSent(newcomer.phone_sanitized, count=1)
        self.assertSmsNotSent(regular.phone_sanitized)
        self.assertSmsCanceled(unconsenting, reason="no_consent")

        self.run_crons(datetime(2026, 12, 8, 23, 0))
        with self.frozen_now(datetime(2026, 12, 8, 23, 1)):
            self.dispatch()
        self.assertSmsSent(regular.phone_sanitized, count=1)
        self.assertSmsNotSent(night_owl.phone_sanitized)
        with self.frozen_now(datetime(2026, 12, 8, 23, 10)):  # a click counts too
            self.click(self.traces(journey, partner_id=regular.id)[0])
        self.recompute(datetime(2026, 12, 8, 23, 20))
        self.assertEqual(regular.sms_best_hour_events, 4)
        self.assertEqual(regular.sms_best_hour_of_week, TUESDAY_18)

        self.run_crons(datetime(2026, 12, 9, 0, 0))
        with self.frozen_now(datetime(2026, 12, 9, 0, 1)):
            self.dispatch()
        self.assertSmsSent(night_owl.phone_sanitized, count=1)
        sent = self.traces(journey, step_id=first.id).filtered(lambda t: t.sent_at)
        self.assertEqual(
            {t.partner_id: t.sent_at.replace(second=0, microsecond=0) for t in sent},
            {regular: datetime(2026, 12, 8, 23, 1), newcomer: datetime(2026, 12, 8, 13, 1),
             night_owl: datetime(2026, 12, 9, 0, 1)},
        )  # fmt: skip

        # the second step (no best hour) a day after each first one: the night owl's
        # is not due yet
        self.run_crons(datetime(2026, 12, 9, 23, 30))
        with self.frozen_now(datetime(2026, 12, 9, 23, 31)):
            self.dispatch()
        self.refresh_results()
        journey.invalidate_recordset()
        comparison = journey.best_hour_comparison.splitlines()
        self.assertEqual(
            comparison,
            [
                "At the contact's best hour: 3 sent, 33.3% clicked, 0.0% replied",
                "At the step's due time: 2 sent, 0.0% clicked, 0.0% replied",
            ],
        )


@tagged("post_install", "-at_install")
class TestBestHourHttp(JsonRpcActorMixin, SmsJourneyHttpCase):
    def test_the_best_hour_over_json_rpc(self):
        """An employee without SMS rights reads the contact but not its best hour; an
        SMS user reads it, as the contact form does."""
        self.env["sms.interaction"].sudo().create(
            {
                "partner_id": self.partner.id,
                "number": self.partner.phone_sanitized,
                "received_at": datetime(2026, 12, 1, 17, 5),  # Tuesday 18:05 in Rome
                "gateway_id": self.gateway.id,
            }
        )
        with self.frozen_now(TUESDAY_EARLY):
            self.env["res.partner"]._cron_sms_best_hours()
        employee = new_test_user(self.env, "employee_bh_rpc", groups="base.group_user")
        self.login_jsonrpc(employee)
        result, error = self.call_kw("res.partner", "read", [self.partner.id], ["name"])
        self.assertFalse(error)
        self.assertEqual(result[0]["name"], self.partner.name)
        for field in ("sms_best_hour_label", "sms_best_hour_of_week"):
            with self.subTest(field=field):
                _result, error = self.call_kw("res.partner", "read", [self.partner.id], [field])
                self.assertEqual(error["name"], "odoo.exceptions.AccessError", error)
        self.login_jsonrpc(new_sms_user(self.env, "sms_user_bh_rpc"))
        result, error = self.call_kw(
            "res.partner", "read", [self.partner.id], ["sms_best_hour_label"]
        )
        self.assertFalse(error)
        self.assertTrue(result[0]["sms_best_hour_label"].startswith("Tuesday 18:00 (Europe/Rome"))
