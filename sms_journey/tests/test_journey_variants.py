from datetime import datetime
from unittest.mock import patch

from odoo.tests import tagged

from ..tools import flow
from .common import JourneyCaseMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestJourneyVariants(JourneyCaseMixin, SmsJourneyCase):
    """A/B variants of an SMS step: seeded draws, the winner by a z-test, manual pick."""

    def ab_journey(self, partners, weights=(50, 50)):
        Template = self.env["sms.template"]
        model = self.env.ref("base.model_res_partner").id
        journey = self.make_journey(
            [{"action": "sms", "variant_min_sample": 100, "variant_max_days": 0}],
            audience_domain=f"[('id', 'in', {partners.ids})]",
            holdout_seed="ab-seed",
        )
        step = journey.step_ids
        for name, weight in zip("ABCD", weights, strict=False):
            step.variant_ids = [
                (
                    0,
                    0,
                    {
                        "name": name,
                        "weight": weight,
                        "template_id": Template.create(
                            {"name": name, "model_id": model, "body": f"Variant {name}"}
                        ).id,
                    },
                )
            ]
        return journey, step

    def test_each_participant_gets_its_drawn_variant(self):
        journey, step = self.ab_journey(self.make_partners(12))
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        traces = self.traces(journey, state="sent")
        self.assertEqual(len(traces), 12)
        variants = step.variant_ids.sorted(lambda v: (v.sequence, v.id))
        for trace in traces:
            index = flow.pick_variant("ab-seed", trace.participant_id.id, [50, 50], salt=step.id)
            self.assertEqual(trace.variant_id, variants[index])
            self.assertEqual(trace.body, f"Variant {variants[index].name}")
        self.assertEqual(sum(variants.mapped("sent_count")), 12)

    def test_assignment_proportions_on_10000_draws(self):
        """Weights 60/30/10: each share within ±1.5 points of its weight on 10,000
        participant ids (more than 3 standard errors for every share)."""
        journey, step = self.ab_journey(self.partner, weights=(60, 30, 10))
        Participant = self.env["sms.journey.participant"]
        counts = {}
        for pid in range(1, 10_001):
            variant = step._variant_for(Participant.browse(pid))
            counts[variant.name] = counts.get(variant.name, 0) + 1
        for name, expected in (("A", 6000), ("B", 3000), ("C", 1000)):
            self.assertLessEqual(abs(counts[name] - expected), 150, counts)

    def crafted(self, step, figures):
        a, b = step.variant_ids.sorted(lambda v: (v.sequence, v.id))
        data = {step.id: {a.id: figures[0], b.id: figures[1]}}
        return patch.object(type(step), "_variant_figures", lambda self: data)

    def test_winner_by_z_test_on_crafted_data(self):
        journey, step = self.ab_journey(self.partner)
        a, b = step.variant_ids.sorted(lambda v: (v.sequence, v.id))
        # 15 % vs 16 %: not significant, the split goes on with the figures recorded
        with self.crafted(step, [(1000, 150), (1000, 160)]):
            step._decide_variant_winner(T0)
        self.assertFalse(step.variant_winner_id)
        self.assertIn("No significant difference", step.variant_decision)
        # under the minimum sample nothing is decided
        step.variant_decision = False
        with self.crafted(step, [(50, 1), (50, 40)]):
            step._decide_variant_winner(T0)
        self.assertFalse(step.variant_decision)
        # 15 % vs 20 % on 1000 each: z = 2.94, p = 0.003
        with self.crafted(step, [(1000, 150), (1000, 200)]):
            step._decide_variant_winner(T0)
        self.assertEqual(step.variant_winner_id, b)
        self.assertTrue(b.is_winner)
        self.assertEqual(step.variant_decided_at, T0)
        self.assertIn("z = 2.94", step.variant_decision)
        self.assertIn("A: 150/1000 (15.00 %); B: 200/1000 (20.00 %)", step.variant_decision)
        # later participants all get the winner
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        self.assertEqual(self.traces(journey).variant_id, b)
        self.assertEqual(self.traces(journey).body, "Variant B")
        self.assertNotEqual(a, b)

    def test_manual_pick(self):
        journey, step = self.ab_journey(self.partner)
        a = step.variant_ids.sorted(lambda v: (v.sequence, v.id))[0]
        a.action_pick_winner()
        self.assertEqual(step.variant_winner_id, a)
        self.assertIn("Picked by", step.variant_decision)
        self.assertIn("A: 0/0", step.variant_decision)
