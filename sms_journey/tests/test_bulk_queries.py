from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import JourneyCaseMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestBulkQueryCounts(JourneyCaseMixin, SmsJourneyCase):
    """The bulk paths cost a bounded number of queries, not one (or more) per record:
    measured on N and 10×N records."""

    def test_cancel_marketing_sms_without_consent(self):
        offset = iter(range(0, 10**7, 100_000))

        def cancel(count):
            first = next(offset)
            sms = self.env["sms.sms"].create(
                [
                    {"number": f"+39333{first + i:07d}", "body": "Sale!", "sms_kind": "marketing"}
                    for i in range(count)
                ]
            )
            with self.count_queries() as queries:
                sms._send()
            canceled = self.env["sms.gateway.message"].search_count(
                [("sms_id", "in", sms.ids), ("state", "=", "canceled"), ("error_code", "!=", False)]
            )
            self.assertEqual(canceled, count)
            self.assertEqual(set(sms.mapped("state")), {"canceled"})
            return queries[0]

        self.assertQueriesFlat(cancel, 1_000, 10_000)

    def test_enrol_participants(self):
        journey = self.make_journey([self.sms_step()])
        with self.frozen_now(T0):
            journey.write({"state": "running", "date_start": T0, "segment_next_run": T0})
        offset = iter(range(0, 10**7, 100_000))

        def enrol(count):
            first = next(offset)
            self.bulk_partners(count, prefix=f"Enrol{first}", start=first)
            journey.write(
                {
                    "audience_domain": f"[('name', '=like', 'Enrol{first} %')]",
                    "segment_run_key": False,
                    "segment_next_run": T0,
                }
            )
            journey.participant_ids.unlink()
            with self.frozen_now(T0), self.count_queries() as queries:
                self.env["sms.journey"]._cron_enrol(batch_size=20_000)
            self.assertEqual(
                self.env["sms.journey.participant"].search_count([("journey_id", "=", journey.id)]),
                count,
            )
            return queries[0]

        self.assertQueriesFlat(enrol, 1_000, 10_000)

    def test_survey_to_contacts(self):
        question = self.env["sms.survey.question"].create(
            {"name": "NPS", "body": "How likely are you to recommend us? 0-10"}
        )
        offset = iter(range(0, 10**7, 100_000))

        def survey(count):
            partners = self.bulk_partners(
                count, prefix="Survey", consent="opted_in", start=next(offset)
            )
            with self.frozen_now(T0), self.count_queries() as queries:
                requests = question._send_to(partners)
            self.assertEqual(len(requests), count)
            self.assertEqual(set(requests.mapped("state")), {"open"})
            return queries[0]

        self.assertQueriesFlat(survey, 100, 1_000)

    def test_digest_run(self):
        journey = self.make_journey([self.sms_step()])
        digest = self.env["sms.interaction.digest"].create(
            {"journey_id": journey.id, "email_to": "boss@example.com", "date_start": T0}
        )
        day = iter(range(1, 100))
        partners = self.bulk_partners(1_000, prefix="Replier")

        def run(count):
            now = T0 + timedelta(days=next(day))
            self.env["sms.interaction"].create(
                [
                    {
                        "number": partner.phone_sanitized,
                        "partner_id": partner.id,
                        "body": "YES",
                        "gateway_id": self.gateway.id,
                        "sms_journey_id": journey.id,
                        "received_at": now - timedelta(hours=1),
                        "matched_keyword": "YES",
                    }
                    for partner in partners[:count]
                ]
            )
            with self.count_queries() as queries:
                mail = digest._send(now)
            self.assertIn(f"{count} new SMS replies", mail.subject)
            return queries[0]

        self.assertQueriesFlat(run, 100, 1_000)

    def test_finished_digests_are_not_read_again(self):
        journey = self.make_journey([self.sms_step()])
        digest = self.env["sms.interaction.digest"].create(
            {"journey_id": journey.id, "email_to": "boss@example.com", "date_start": T0, "days": 3}
        )
        with self.frozen_now(T0 + timedelta(days=5)):
            self.env["sms.interaction.digest"]._cron_send_digests()
        self.assertTrue(digest.finished)
        digest.days = 10
        self.assertFalse(digest.finished)
