"""Two step-cron workers at once, with real transactions.

The test transaction can't see other transactions, so these tests commit through their
own cursors and remove what they committed.
"""

from contextlib import ExitStack
from datetime import timedelta

import odoo
from odoo import api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged

from ..tools.journey import Candidate


@tagged("post_install", "-at_install")
class TestJourneyConcurrency(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(odoo.tests.get_db_name())

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            self.tag_id = env["res.partner.category"].create({"name": "Concurrency tag"}).id
            partners = env["res.partner"].create([{"name": f"Concurrency {i}"} for i in range(3)])
            self.partner_ids = partners.ids
            journey = env["sms.journey"].create(
                {
                    "name": "Concurrency journey",
                    "state": "running",
                    "step_ids": [
                        (0, 0, {"action": "tag_add", "tag_id": self.tag_id}),
                        (0, 0, {"action": "end", "wait_amount": 1, "sequence": 20}),
                    ],
                }
            )
            self.journey_id = journey.id
            due = fields.Datetime.now() - timedelta(minutes=1)
            journey._create_participants([Candidate(pid, "k", due) for pid in partners.ids])
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            env["sms.journey"].browse(self.journey_id).unlink()
            env["res.partner"].browse(self.partner_ids).unlink()
            env["res.partner.category"].browse(self.tag_id).unlink()

    def _env(self, stack):
        cr = stack.enter_context(self.registry.cursor())
        return api.Environment(cr, odoo.SUPERUSER_ID, {})

    def test_two_workers_never_run_the_same_step(self):
        with ExitStack() as stack:
            env1, env2 = self._env(stack), self._env(stack)
            held = env2["sms.journey.participant"]._claim_due(1)  # worker 2 is busy with one
            self.assertEqual(len(held), 1)
            done = env1["sms.journey.participant"]._cron_execute_due()
            self.assertEqual(len(done), 2)
            self.assertFalse(set(done.ids) & set(held.ids))
            env1.cr.commit()
            held._run_due_steps()
            env2.cr.commit()

            env = self._env(stack)
            participants = env["sms.journey"].browse(self.journey_id).participant_ids
            self.assertEqual(len(participants), 3)
            self.assertEqual(len(participants.trace_ids), 3, "each first step ran once")
            self.assertEqual(set(participants.step_id.mapped("action")), {"end"})
            # a second run at the same time finds nothing due
            self.assertFalse(env["sms.journey.participant"]._cron_execute_due())
