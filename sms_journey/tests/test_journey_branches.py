from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..tools import flow
from .common import JourneyCaseMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window
MARCO = "+393337654321"


@tagged("post_install", "-at_install")
class TestJourneyBranches(JourneyCaseMixin, SmsJourneyCase):
    """Branch steps: each condition splits into yes / no paths that rejoin or end;
    editing a running journey strands nobody; the preview follows the paths."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Template = cls.env["sms.template"]
        model = cls.env.ref("base.model_res_partner").id
        cls.tpl_yes, cls.tpl_no, cls.tpl_after = (
            Template.create(
                {"name": name, "model_id": model, "body": f"{name} {{{{ object.name }}}}"}
            )
            for name in ("Yes path", "No path", "After")
        )
        cls.marco = cls.env["res.partner"].create(
            {
                "name": "Marco Bianchi",
                "mobile": "+39 333 765 4321",
                "country_id": cls.env.ref("base.it").id,
                "tz": "Europe/Rome",
            }
        )
        cls.marco._sms_consent_set("opted_in", "api", "test")

    def branching(self, condition, yes=None, no=None, **vals):
        """Link SMS at T0 → branch on ``condition`` 2 days later → yes / no path SMS →
        'After' SMS 2 days later on the main path (both paths rejoin there)."""
        branch_vals = {k: vals.pop(k) for k in list(vals) if k.startswith("condition_")}
        journey = self.make_journey(
            [
                self.sms_step(self.tpl_link),
                dict({"action": "branch", "condition": condition, "wait_amount": 2}, **branch_vals),
                self.sms_step(self.tpl_after, wait=2),
            ],
            audience_domain=f"[('id', 'in', {(self.partner | self.marco).ids})]",
            **vals,
        )
        branch = journey.step_ids.filtered(lambda s: s.action == "branch")
        self.add_path(branch, "yes", yes if yes is not None else [self.sms_step(self.tpl_yes)])
        self.add_path(branch, "no", no if no is not None else [self.sms_step(self.tpl_no)])
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        return journey, branch

    def participant(self, journey, partner):
        return journey.participant_ids.filtered(lambda p: p.partner_id == partner)

    def sent_bodies(self, journey, partner):
        return [
            t.body.split(" ")[0] for t in self.traces(journey, partner_id=partner.id, state="sent")
        ]

    def assertSplit(self, journey, branch, yes_partner, no_partner):
        """``yes_partner`` took the yes path, ``no_partner`` the no path, both rejoined."""
        self.run_crons(T0 + timedelta(days=2))
        self.run_crons(T0 + timedelta(days=4))
        for partner, side, first_word in ((yes_partner, "yes", "Yes"), (no_partner, "no", "No")):
            trace = self.traces(journey, partner_id=partner.id, step_id=branch.id)
            self.assertEqual(trace.branch, side, partner.name)
            self.assertEqual(trace.state, "done")
            self.assertEqual(self.sent_bodies(journey, partner), ["Hi", first_word, "After"])
            participant = self.participant(journey, partner)
            self.assertEqual(participant.path, f"{branch.name}: {side}")
            self.assertEqual(participant.state, "completed")
        self.env["sms.result.snapshot"]._refresh()  # as the cron does
        branch.invalidate_recordset()
        self.assertEqual((branch.yes_count, branch.no_count), (1, 1))

    # --- each condition ------------------------------------------------------

    def test_branch_clicked(self):
        journey, branch = self.branching("clicked")
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.click(self.traces(journey, partner_id=self.partner.id))
        self.assertSplit(journey, branch, self.partner, self.marco)

    def test_branch_replied(self):
        journey, branch = self.branching("replied")
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.dispatch()
            self.receive("ok thanks", sender=MARCO, message_id="SMbr1")
        self.assertSplit(journey, branch, self.marco, self.partner)

    def test_branch_keyword(self):
        journey, branch = self.branching("keyword", condition_keyword="YES, SI")
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.dispatch()
            self.receive("Si grazie", message_id="SMbr2")
            self.receive("no", sender=MARCO, message_id="SMbr3")
        self.assertSplit(journey, branch, self.partner, self.marco)

    def test_branch_survey_answer(self):
        question = self.env["sms.survey.question"].create(
            {"name": "Visit", "body": "Rate us 1 to 10", "answer_type": "scale"}
        )
        journey, branch = self.branching(
            "survey",
            condition_question_id=question.id,
            condition_operator=">=",
            condition_value="8",
        )
        Answer = self.env["sms.survey.answer"]
        for partner, value in ((self.partner, 3), (self.marco, 5), (self.marco, 9)):
            Answer.create(
                {
                    "question_id": question.id,
                    "partner_id": partner.id,
                    "value": str(value),
                    "value_number": value,
                    "answered_at": T0 + timedelta(hours=value),
                }
            )
        # Marco's latest answer (9) counts
        self.assertSplit(journey, branch, self.marco, self.partner)

    def test_branch_ordered(self):
        journey, branch = self.branching("ordered", exit_on_order=False)
        order = self.env["sale.order"].create({"partner_id": self.marco.id})
        order.write({"state": "sale", "date_order": T0 + timedelta(days=1)})
        self.assertSplit(journey, branch, self.marco, self.partner)

    def test_branch_consenting(self):
        self.marco._sms_consent_set("opted_out", "api", "test")
        # transactional: SMS go on without marketing consent, the branch still reads it
        journey, branch = self.branching(
            "consenting", sms_kind="transactional", exit_on_optout=False
        )
        self.assertSplit(journey, branch, self.partner, self.marco)

    def test_branch_contact_filter(self):
        journey, branch = self.branching("partner", condition_domain="[('name', 'ilike', 'marco')]")
        self.assertSplit(journey, branch, self.marco, self.partner)

    # --- shapes and edits ------------------------------------------------------

    def test_a_path_can_end(self):
        journey, branch = self.branching(
            "partner",
            condition_domain="[('name', 'ilike', 'marco')]",
            yes=[self.sms_step(self.tpl_yes), {"action": "end", "sequence": 20}],
        )
        self.run_crons(T0 + timedelta(days=2))
        self.run_crons(T0 + timedelta(days=4))
        self.assertEqual(self.sent_bodies(journey, self.marco), ["Hi", "Yes"])
        self.assertEqual(self.participant(journey, self.marco).exit_reason, "Ended by a step")
        self.assertEqual(self.sent_bodies(journey, self.partner), ["Hi", "No", "After"])

    def test_removed_branch_step_moves_waiting_participants_to_the_rejoin(self):
        journey, branch = self.branching(
            "partner",
            condition_domain="[('name', 'ilike', 'marco')]",
            yes=[self.sms_step(self.tpl_yes), self.sms_step(self.tpl_yes, wait=1, sequence=20)],
        )
        after = journey.step_ids.filtered(lambda s: s.template_id == self.tpl_after)
        self.run_crons(T0 + timedelta(days=2))
        marco, giulia = (
            self.participant(journey, self.marco),
            self.participant(journey, self.partner),
        )
        second_yes = branch.child_ids.filtered(lambda s: s.sequence == 20)
        self.assertEqual(marco.step_id, second_yes)
        self.assertEqual(giulia.step_id, after)
        # the last step of the yes path goes: Marco rejoins the main path
        second_yes.unlink()
        self.assertEqual(marco.step_id, after)
        self.assertEqual(marco.state, "running")

    def test_removed_branch_takes_its_paths_and_strands_nobody(self):
        journey, branch = self.branching("clicked")
        after = journey.step_ids.filtered(lambda s: s.template_id == self.tpl_after)
        paths = branch.child_ids
        self.assertEqual(len(paths), 2)
        self.assertEqual(journey.participant_ids.step_id, branch)
        branch.unlink()
        self.assertFalse(paths.exists())
        self.assertEqual(journey.participant_ids.step_id, after)
        self.run_crons(T0 + timedelta(days=2))
        self.assertEqual(self.sent_bodies(journey, self.marco), ["Hi", "After"])

    def test_path_step_must_hang_on_a_branch_of_the_journey(self):
        journey, branch = self.branching("clicked")
        other = self.make_journey([{"action": "branch", "condition": "clicked"}])
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.add_path(other.step_ids, "yes", [self.sms_step()]).write(
                {"parent_id": branch.child_ids[:1].id}
            )

    def test_copy_keeps_the_branches_and_the_flow_shows_figures(self):
        journey, branch = self.branching("clicked")
        # "Sent" counts what the provider accepted; each SMS leaves on its day (two
        # marketing SMS to one contact in one dispatch would meet the frequency cap)
        with self.frozen_now(T0):
            self.dispatch()
        self.run_crons(T0 + timedelta(days=2))
        with self.frozen_now(T0 + timedelta(days=2)):
            self.dispatch()
        self.env["sms.result.snapshot"]._refresh()  # as the cron does
        self.env.invalidate_all()
        flow = journey.get_flow()
        self.assertEqual([card["action"] for card in flow], ["sms", "branch", "sms"])
        figures = dict(flow[1]["figures"])
        self.assertEqual((figures["Yes"], figures["No"]), (0, 2))
        self.assertEqual(dict(flow[1]["paths"]["no"][0]["figures"])["Sent"], 2)
        copy = journey.copy()
        copied = copy.step_ids.filtered(lambda s: s.action == "branch")
        self.assertEqual(len(copy.step_ids), 5)
        self.assertEqual(
            sorted(copied.child_ids.mapped("branch_side")), ["no", "yes"], "paths copied"
        )
        self.assertFalse(branch.child_ids & copied.child_ids)
        action = copy.action_flow_add_step(copied.id, "yes", "branch")
        added = self.env["sms.journey.step"].with_context(**action["context"]).create({})
        self.assertEqual((added.parent_id, added.branch_side), (copied, "yes"))
        self.assertEqual(added, copied._branch_step("yes")._next_step())

    # --- the preview ----------------------------------------------------------

    def test_preview_follows_branches_and_holdout(self):
        """Preview at T0 = what the crons do over the next 10 days: the filter branch on
        live data, the click branch on its no path (no reaction), the control group
        without SMS."""
        journey, branch = self.branching(
            "partner",
            condition_domain="[('name', 'ilike', 'marco')]",
            no=[
                {"action": "branch", "condition": "clicked", "wait_amount": 1},
            ],
        )
        inner = branch.child_ids.filtered(lambda s: s.action == "branch")
        self.add_path(inner, "yes", [self.sms_step(self.tpl_yes)])
        self.add_path(inner, "no", [self.sms_step(self.tpl_no)])
        self.participant(journey, self.marco).holdout = True
        with self.frozen_now(T0 + timedelta(minutes=5)):
            preview = self.env["sms.journey.preview"].create({"journey_id": journey.id, "days": 10})
            preview.action_compute()
        expected = sorted(
            (
                line.partner_id.id,
                line.step_id.id,
                line.scheduled_at,
                bool(line.skip_reason),
                line.branch or False,
                (line.body or "").split(" ")[0],
            )
            for line in preview.line_ids
        )
        self.assertIn((self.marco.id, branch.id), {(e[0], e[1]) for e in expected})
        for day in range(1, 11):
            self.run_crons(T0 + timedelta(days=day))
        actual = sorted(
            (
                t.partner_id.id,
                t.step_id.id,
                t.outbox_message_id.due_at if t.state == "sent" else t.executed_at,
                t.state in ("skipped", "held_out"),
                t.branch or False,
                (t.body or "").split(" ")[0] if t.state == "sent" else "",
            )
            for t in self.traces(journey)
            if t.executed_at > T0
        )
        # the preview renders the SMS of the control group to show what is not sent
        expected = [e if not e[3] else e[:5] + ("",) for e in expected]
        self.assertEqual(actual, expected)
        self.assertEqual(self.sent_bodies(journey, self.marco), ["Hi"])
        self.assertEqual(self.sent_bodies(journey, self.partner), ["Hi", "No", "After"])


@tagged("post_install", "-at_install")
class TestJourneyHoldout(JourneyCaseMixin, SmsJourneyCase):
    """The control group: drawn with the recorded seed, walked, never texted."""

    def every_sms_journey(self, percent):
        question = self.env["sms.survey.question"].create(
            {"name": "Q", "body": "Rate us 1 to 5", "answer_type": "scale"}
        )
        self.env["calendar.event"].create(
            {
                "name": "Fitting",
                "start": T0 + timedelta(days=3),
                "stop": T0 + timedelta(days=3, hours=1),
                "partner_ids": [(6, 0, self.partner.ids)],
            }
        )
        journey = self.make_journey(
            [
                self.sms_step(self.tpl_link),
                {"action": "survey", "survey_question_id": question.id, "wait_amount": 1},
                {"action": "branch", "condition": "clicked", "wait_amount": 1},
                {
                    "action": "appointment",
                    "template_id": self.env.ref("sms_journey.sms_template_appointment_reminder").id,
                    "wait_amount": 0,
                },
            ],
            holdout_percent=percent,
            sms_kind="transactional",
        )
        branch = journey.step_ids.filtered(lambda s: s.action == "branch")
        self.add_path(branch, "no", [self.sms_step(self.tpl_hello)])
        return journey

    def run_spied(self, journey):
        """Run the journey for 4 days; returns the requests ``sms.sender._send`` got."""
        Sender = type(self.env["sms.sender"])
        original, requests = Sender._send, []

        def spy(sender, batch, *args, **kwargs):
            requests.extend(batch)
            return original(sender, batch, *args, **kwargs)

        with patch.object(Sender, "_send", spy):
            with self.frozen_now(T0):
                journey.action_start()
            for day in range(5):
                self.run_crons(T0 + timedelta(days=day))
        return requests

    def assertHeldOutEverywhere(self, journey, requests):
        participant = journey.participant_ids
        self.assertTrue(participant.holdout)
        self.assertEqual(participant.state, "completed")
        self.assertFalse(requests, "a control participant never makes an SMS request")
        self.assertFalse(self.outbox(partner_id=self.partner.id))
        self.assertFalse(self.env["sms.sms"].search([("partner_id", "=", self.partner.id)]))
        held = self.traces(journey, state="held_out")
        self.assertEqual(sorted(held.mapped("action")), ["appointment", "sms", "sms", "survey"])
        self.assertEqual(self.traces(journey, action="branch").branch, "no")

    def test_holdout_gets_no_sms_with_a_gateway(self):
        journey = self.every_sms_journey(100)
        self.assertHeldOutEverywhere(journey, self.run_spied(journey))

    def test_holdout_gets_no_sms_without_a_gateway(self):
        self.company.sms_gateway_id = False
        journey = self.every_sms_journey(100)
        self.assertHeldOutEverywhere(journey, self.run_spied(journey))

    def test_treated_participants_get_theirs(self):
        journey = self.every_sms_journey(0)
        requests = self.run_spied(journey)
        self.assertFalse(journey.participant_ids.holdout)
        self.assertEqual(len(requests), 4)  # link SMS, survey, no-path SMS, appointment
        self.assertFalse(self.traces(journey, state="held_out"))

    def test_draw_follows_the_seed_and_results_compare_groups(self):
        partners = self.make_partners(40)
        journey = self.make_journey(
            [self.sms_step()],
            audience_domain=f"[('id', 'in', {partners.ids})]",
            holdout_percent=30,
            holdout_seed="recorded-seed",
            goal_days=14,
        )
        with self.frozen_now(T0):
            journey.action_start()
        self.run_crons(T0)
        participants = journey.participant_ids
        self.assertEqual(len(participants), 40)
        for participant in participants:
            self.assertEqual(
                participant.holdout, flow.in_holdout("recorded-seed", participant.id, 30)
            )
        control = participants.filtered("holdout")
        treated = participants - control
        self.assertGreater(len(control), 1)
        self.assertTrue(treated)
        texted = self.outbox().partner_id
        self.assertEqual(texted & control.partner_id, self.env["res.partner"])
        self.assertEqual(texted, treated.partner_id)
        # crafted outcomes: half of the treated order 100, one control orders 50;
        # an order after the 14-day goal window does not count
        buyers = treated[: len(treated) // 2].partner_id | control[:1].partner_id
        late = control[-1].partner_id
        for partner in buyers | late:
            order = self.env["sale.order"].create({"partner_id": partner.id})
            amount = 50.0 if partner in control.partner_id else 100.0
            when = T0 + timedelta(days=20 if partner == late else 3)
            self.env.flush_all()
            self.env.cr.execute(
                """UPDATE sale_order SET state = 'sale', date_order = %s, amount_total = %s
                    WHERE id = %s""",
                (when, amount, order.id),
            )
        self.env["sms.result.snapshot"]._refresh()  # as the cron does
        self.env.invalidate_all()
        journey.invalidate_recordset()
        self.assertEqual(journey.treated_count, len(treated))
        self.assertEqual(journey.control_count, len(control))
        self.assertAlmostEqual(
            journey.treated_conversion, 100.0 * (len(treated) // 2) / len(treated)
        )
        self.assertAlmostEqual(journey.control_conversion, 100.0 / len(control))
        # revenue per head is a money field of 2 digits
        self.assertAlmostEqual(
            journey.treated_revenue_per_head, 100.0 * (len(treated) // 2) / len(treated), 2
        )
        self.assertAlmostEqual(journey.control_revenue_per_head, 50.0 / len(control), 2)
        self.assertIn("95 % CI", journey.holdout_summary)
