from datetime import datetime
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from ..models.sms_interaction_digest import SmsInteractionDigest
from ..models.sms_journey_enrolment import SmsJourney
from ..models.sms_journey_participant import SmsJourneyParticipant
from ..models.sms_keyword_rule import SmsKeywordRule
from .common import JourneyCaseMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)
LOGGER = "odoo.addons.sms_journey.models.isolation"


@tagged("post_install", "-at_install")
class TestIsolation(JourneyCaseMixin, SmsJourneyCase):
    """One failing journey, keyword rule or digest is logged on it; the others go on."""

    def test_a_failing_journey_does_not_stop_enrolment(self):
        bad = self.make_journey([self.sms_step()], name="Broken")
        good = self.make_journey([self.sms_step()], name="Fine")
        with self.frozen_now(T0):
            (bad | good).action_start()
        bad.participant_ids.unlink()
        good.participant_ids.unlink()
        (bad | good).write({"segment_run_key": False, "segment_next_run": T0})
        enrol = SmsJourney._enrol

        def enrol_or_fail(journey, now, limit):
            if journey == bad:
                journey.name = "renamed before the error"
                raise ValueError("trigger exploded")
            return enrol(journey, now, limit)

        with (
            patch.object(SmsJourney, "_enrol", enrol_or_fail),
            self.assertLogs(LOGGER, "ERROR"),
            self.frozen_now(T0),
        ):
            self.env["sms.journey"]._cron_enrol()
        self.assertEqual(good.participant_ids.partner_id, self.partner)
        self.assertFalse(bad.participant_ids)
        self.assertEqual(bad.name, "Broken")  # its savepoint was rolled back
        self.assertIn("trigger exploded", bad.message_ids[0].body)

    def test_a_failing_step_batch_does_not_stop_the_other_journeys(self):
        other = self.make_partner("Marco", "+39 333 765 4321")
        bad = self.make_journey([self.sms_step()], name="Broken")
        good = self.make_journey(
            [self.sms_step()], name="Fine", audience_domain=f"[('id', '=', {other.id})]"
        )
        with self.frozen_now(T0):
            (bad | good).action_start()
            self.env["sms.journey"]._cron_enrol()
        execute = SmsJourneyParticipant._run_due_steps

        def execute_or_fail(participants):
            if participants.journey_id == bad:
                raise ValueError("step exploded")
            return execute(participants)

        with (
            patch.object(SmsJourneyParticipant, "_run_due_steps", execute_or_fail),
            self.assertLogs(LOGGER, "ERROR"),
            self.frozen_now(T0),
        ):
            self.env["sms.journey.participant"]._cron_execute_due()
        self.assertTrue(good.participant_ids.trace_ids)
        self.assertFalse(bad.participant_ids.trace_ids)
        self.assertIn("step exploded", bad.message_ids[0].body)
        # tried again later, not in a loop
        self.assertGreater(bad.participant_ids.next_action_at, T0)

    def test_a_failing_keyword_rule_is_logged_on_it(self):
        rule = self.env["sms.keyword.rule"].create(
            {
                "name": "Price",
                "keywords": "PRICE",
                "action_ids": [Command.create({"type": "mark_handled"})],
            }
        )

        def fail(rule, interaction, batch):
            raise ValueError("action exploded")

        with (
            patch.object(SmsKeywordRule, "_run_actions", fail),
            self.assertLogs(LOGGER, "ERROR"),
        ):
            interaction = self.receive("price please")
        self.assertEqual(interaction.pipeline_state, "processed")
        self.assertEqual(interaction.matched_rule_id, rule)
        self.assertIn("action exploded", rule.last_error)
        # the next run that works clears it
        interaction = self.receive("price again")
        self.assertEqual(interaction.state, "handled")
        self.assertFalse(rule.last_error)

    def test_a_failing_digest_does_not_stop_the_others(self):
        journey = self.make_journey([self.sms_step()])
        values = {"journey_id": journey.id, "email_to": "boss@example.com", "date_start": T0}
        bad = self.env["sms.interaction.digest"].create(values)
        good = self.env["sms.interaction.digest"].create(values)
        send = SmsInteractionDigest._send

        def send_or_fail(digest, now):
            if digest == bad:
                raise ValueError("digest exploded")
            return send(digest, now)

        with (
            patch.object(SmsInteractionDigest, "_send", send_or_fail),
            self.assertLogs(LOGGER, "ERROR"),
            self.frozen_now(datetime(2026, 3, 3, 12, 0)),
        ):
            self.env["sms.interaction.digest"]._cron_send_digests()
        self.assertTrue(good.last_run_at)
        self.assertFalse(bad.last_run_at)
        self.assertIn("digest exploded", bad.last_error)
