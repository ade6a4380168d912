"""Flow edits are drafts: *+ SMS* / *+ Branch* open a form that creates nothing until it
is saved, and a running journey refuses a step that could not text anyone."""

from contextlib import contextmanager

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import JourneyCaseMixin, SmsJourneyCase, new_sms_user


@tagged("post_install", "-at_install")
class TestFlowDrafts(JourneyCaseMixin, SmsJourneyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_sms_user(
            cls.env, "flow_manager", groups="sms_journey.group_sms_journey_manager"
        )

    @contextmanager
    def assertRefused(self, message):
        """Odoo's assertRaises (rolled back to a savepoint), with the refusal's text."""
        with self.assertRaises(ValidationError) as caught:
            yield
        self.assertRegex(str(caught.exception), message)

    def running_journey(self):
        journey = self.make_journey([self.sms_step()])
        journey.action_start()
        return journey.with_user(self.manager)

    def test_adding_from_the_flow_creates_nothing_until_saved(self):
        journey = self.running_journey()
        action = journey.action_flow_add_step(kind="sms")
        self.assertEqual((action["res_model"], action["target"]), ("sms.journey.step", "new"))
        self.assertFalse(action.get("res_id"))
        self.assertEqual(len(journey.step_ids), 1, "opening the dialog created a step")
        last = journey.step_ids.sequence
        step_form = Form(journey.env["sms.journey.step"].with_context(**action["context"]))
        self.assertEqual(step_form.journey_id, journey)
        step_form.template_id = self.tpl_link
        step = step_form.save()
        self.assertEqual(step.sequence, last + 10, "after the last step")
        self.assertEqual(journey.step_ids[-1], step)
        self.assertEqual(journey._first_step()._next_step(), step)

    def test_running_journey_refuses_a_step_without_its_text(self):
        journey = self.running_journey()
        Step = journey.env["sms.journey.step"]
        with self.assertRefused("is running: .* needs an SMS template"):
            Step.create({"journey_id": journey.id, "sequence": 20, "action": "sms"})
        with self.assertRefused("needs a survey question"):
            Step.create({"journey_id": journey.id, "sequence": 20, "action": "survey"})
        with self.assertRefused("needs an SMS template"):
            journey.step_ids.template_id = False
        # steps that text nobody need nothing
        Step.create({"journey_id": journey.id, "sequence": 30, "action": "end"})

    def test_journey_with_an_empty_step_does_not_start(self):
        journey = self.make_journey([{"action": "sms"}])
        with self.assertRefused("needs an SMS template"):
            journey.action_start()
        # a draft journey keeps its half-written step
        self.assertEqual(journey.state, "draft")
