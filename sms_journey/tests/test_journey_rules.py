from datetime import date, datetime, timedelta

from odoo.tests import Form, tagged

from .common import JourneyCaseMixin, SmsJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window


@tagged("post_install", "-at_install")
class TestJourneyRules(JourneyCaseMixin, SmsJourneyCase):
    """Triggers, conditions, policies and the compliance of journey SMS."""

    def start(self, journey, moment=T0):
        with self.frozen_now(moment):
            journey.action_start()

    # --- triggers -----------------------------------------------------------

    def test_segment_enrols_on_activation_then_periodically(self):
        other = self.make_partner("Marco", "+39 333 765 4321")
        journey = self.make_journey(
            [self.sms_step()],
            audience_domain=f"[('id', 'in', {(self.partner | other).ids})]",
            segment_interval_days=7,
            reentry_policy="after_days",
            reentry_days=5,
        )
        self.start(journey)
        self.run_crons(T0)
        self.assertEqual(journey.participant_ids.partner_id, self.partner | other)
        self.assertEqual(len(self.traces(journey, state="sent")), 2)
        self.run_crons(T0 + timedelta(days=3))
        self.assertEqual(len(journey.participant_ids), 2, "next run in 7 days")
        self.run_crons(T0 + timedelta(days=7, minutes=5))
        self.assertEqual(len(journey.participant_ids), 4)

    def test_reentry_never(self):
        journey = self.make_journey(
            [self.sms_step()], segment_interval_days=1, reentry_policy="never"
        )
        self.start(journey)
        self.run_crons(T0)
        self.run_crons(T0 + timedelta(days=2))
        self.run_crons(T0 + timedelta(days=4))
        self.assertEqual(len(journey.participant_ids), 1)

    def test_order_confirmed_trigger_transactional(self):
        self.partner._sms_consent_set("unknown", "api", "reset")
        journey = self.make_journey(
            [self.sms_step()],
            trigger="order_confirmed",
            sms_kind="transactional",
            audience_domain="[]",
        )
        self.start(journey)
        product = self.env["product.product"].create({"name": "Desk", "list_price": 100})
        order = self.env["sale.order"].create(
            {"partner_id": self.partner.id, "order_line": [(0, 0, {"product_id": product.id})]}
        )
        with self.frozen_now(T0 + timedelta(minutes=10)):
            order.action_confirm()
        self.run_crons(T0 + timedelta(minutes=20))
        participant = journey.participant_ids
        self.assertEqual(participant.source_res_id, order.id)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent", "transactional SMS need no marketing consent")
        self.assertEqual(trace.outbox_message_id.sms_kind, "transactional")

    def test_order_delivered_trigger(self):
        journey = self.make_journey(
            [self.sms_step()], trigger="order_delivered", sms_kind="transactional"
        )
        self.start(journey)
        product = self.env["product.product"].create(
            {"name": "Chair", "list_price": 50, "type": "consu"}
        )
        order = self.env["sale.order"].create(
            {"partner_id": self.partner.id, "order_line": [(0, 0, {"product_id": product.id})]}
        )
        with self.frozen_now(T0 + timedelta(minutes=5)):
            order.action_confirm()
            if "stock.picking" in self.env:
                picking = order.picking_ids
                picking.move_ids.quantity = 1
                picking.button_validate()
            else:
                order.order_line.qty_delivered = 1
            self.env.flush_all()
        self.run_crons(T0 + timedelta(minutes=20))
        self.assertEqual(journey.participant_ids.source_res_id, order.id)

    def test_anniversary_of_first_order(self):
        journey = self.make_journey([self.sms_step()], trigger="anniversary", send_hour=10.0)
        self.partner.first_order_date = date(2024, 3, 3)
        self.start(journey)
        self.run_crons(datetime(2026, 3, 3, 8, 0))
        self.assertFalse(journey.participant_ids)
        self.run_crons(datetime(2026, 3, 3, 9, 5))
        self.assertEqual(journey.participant_ids.key, "2026")
        self.assertEqual(len(self.traces(journey, state="sent")), 1)

    def test_anniversary_of_a_chosen_date_field(self):
        field = self.env["ir.model.fields"]._get("res.partner", "birthdate_date")
        journey = self.make_journey(
            [self.sms_step()], trigger="anniversary", send_hour=10.0, anniversary_field_id=field.id
        )
        self.partner.birthdate_date = date(2026, 3, 3)  # less than a year: no anniversary
        self.start(journey)
        self.run_crons(datetime(2026, 3, 3, 9, 5))
        self.assertFalse(journey.participant_ids)
        self.partner.birthdate_date = date(2020, 3, 4)
        self.run_crons(datetime(2026, 3, 4, 9, 5))
        self.assertEqual(journey.participant_ids.key, "2026")

    def test_invoice_overdue_trigger(self):
        journey = self.make_journey(
            [self.sms_step()],
            trigger="invoice_overdue",
            sms_kind="transactional",
            overdue_days=1,
        )
        self.start(journey)
        self.overdue_invoice(self.partner, date(2026, 2, 1), date(2026, 3, 2))
        self.run_crons(datetime(2026, 3, 3, 12, 0))
        self.assertFalse(journey.participant_ids, "not a full day overdue yet")
        self.run_crons(datetime(2026, 3, 4, 9, 0))
        self.assertEqual(journey.participant_ids.source_model, "account.move")

    # --- conditions -----------------------------------------------------------

    def test_conditions_clicked_replied_keyword(self):
        tag_clicked = self.env["res.partner.category"].create({"name": "Clicked"})
        tag_yes = self.env["res.partner.category"].create({"name": "Said yes"})
        tag_silent = self.env["res.partner.category"].create({"name": "Silent"})
        journey = self.make_journey(
            [
                self.sms_step(self.tpl_link),
                {
                    "action": "tag_add",
                    "tag_id": tag_clicked.id,
                    "condition": "clicked",
                    "wait_amount": 1,
                    "wait_unit": "hours",
                },
                {
                    "action": "tag_add",
                    "tag_id": tag_yes.id,
                    "condition": "keyword",
                    "condition_keyword": "YES, SI",
                },
                {"action": "tag_add", "tag_id": tag_silent.id, "condition": "not_replied"},
                {"action": "end", "condition": "ordered"},
                {"action": "set_stage", "stage_value": "loyalty", "condition": "not_ordered"},
            ]
        )
        self.start(journey)
        self.run_crons(T0)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "sent")
        with self.frozen_now(T0 + timedelta(minutes=20)):
            self.dispatch()
            self.click(trace)
            self.receive("Si, grazie", message_id="SMin1")
        self.assertTrue(trace.replied_at)
        interaction = self.env["sms.interaction"].search([("provider_message_id", "=", "SMin1")])
        self.assertEqual(interaction.sms_journey_id, journey)
        self.run_crons(T0 + timedelta(hours=2))
        self.assertIn(tag_clicked, self.partner.category_id)
        self.assertIn(tag_yes, self.partner.category_id)
        self.assertNotIn(tag_silent, self.partner.category_id)
        skipped = self.traces(journey, state="skipped")
        self.assertEqual(len(skipped), 2)  # not_replied and ordered
        self.assertEqual(self.partner.journey_stage, "loyalty")
        self.assertEqual(journey.participant_ids.state, "completed")

    def test_stop_reply_exits(self):
        journey = self.make_journey([self.sms_step(), self.sms_step(wait=1)])
        self.start(journey)
        self.run_crons(T0)
        with self.frozen_now(T0 + timedelta(hours=1)):
            self.receive("STOP", message_id="SMin2")
        participant = journey.participant_ids
        self.assertEqual(participant.state, "opted_out")
        self.assertEqual(participant.exit_reason, "Replied STOP")

    # --- pause / stop / editing -----------------------------------------------

    def test_pause_resume_stop(self):
        other = self.make_partner("Marco", "+39 333 765 4321")
        journey = self.make_journey(
            [self.sms_step(), self.sms_step(wait=1), self.sms_step(wait=1)],
            audience_domain=f"[('id', 'in', {(self.partner | other).ids})]",
        )
        self.start(journey)
        self.run_crons(T0)
        self.assertEqual(len(self.traces(journey)), 2)
        journey.action_pause()
        self.run_crons(T0 + timedelta(days=1, hours=1))
        self.assertEqual(len(self.traces(journey)), 2, "paused: nothing runs")
        # editing a later step applies to participants not past it
        journey.step_ids.sorted()[1].template_id = self.tpl_link
        with self.frozen_now(T0 + timedelta(days=1, hours=2)):
            journey.action_resume()
        self.run_crons(T0 + timedelta(days=1, hours=2))
        self.assertEqual(len(self.traces(journey)), 4)
        self.assertIn("/r/", self.traces(journey)[-1].body)
        journey.action_stop()
        self.assertEqual(set(journey.participant_ids.mapped("state")), {"exited"})
        self.run_crons(T0 + timedelta(days=3))
        self.assertEqual(len(self.traces(journey)), 4)

    # --- concurrency ------------------------------------------------------------

    def test_two_cron_runs_never_double_send(self):
        journey = self.make_journey([self.sms_step(), self.sms_step(wait=1)])
        self.start(journey)
        with self.frozen_now(T0):
            self.env["sms.journey"]._cron_enrol()
            self.env["sms.journey"]._cron_enrol()
            Participant = self.env["sms.journey.participant"]
            first = Participant._cron_execute_due()
            second = Participant._cron_execute_due()
        self.assertEqual(len(first), 1)
        self.assertFalse(second)
        self.assertEqual(len(journey.participant_ids), 1)
        self.assertEqual(len(self.outbox(partner_id=self.partner.id)), 1)
        # the next step is claimed once it is due
        with self.frozen_now(T0 + timedelta(days=2)):
            claimed = Participant._claim_due(10)
            self.assertEqual(claimed, journey.participant_ids)

    # --- compliance inside journeys ----------------------------------------

    def test_marketing_without_consent_is_skipped(self):
        self.partner._sms_consent_set("unknown", "api", "reset")
        journey = self.make_journey([self.sms_step()])
        self.start(journey)
        self.run_crons(T0)
        trace = self.traces(journey)
        self.assertEqual(trace.state, "skipped")
        self.assertIn("consent", trace.skip_reason)
        self.assertEqual(trace.outbox_message_id.state, "canceled")
        self.env["sms.result.snapshot"]._refresh()  # as the cron does
        journey.invalidate_recordset()
        self.assertEqual(journey.skipped_count, 1)

    def test_quiet_hours_and_cap_defer_but_count_as_sent(self):
        late = datetime(2026, 3, 2, 21, 30)  # 22:30 in Rome
        journey = self.make_journey(
            [self.sms_step(), self.sms_step(wait=1, unit="hours")],
        )
        self.start(journey, late)
        self.run_crons(late)
        first = self.traces(journey)
        self.assertEqual(first.state, "sent")
        self.assertEqual(first.outbox_message_id.due_at, datetime(2026, 3, 3, 7, 0))
        participant = journey.participant_ids
        # the next wait counts from the deferred send
        self.assertEqual(participant.next_action_at, datetime(2026, 3, 3, 8, 0))
        self.run_crons(datetime(2026, 3, 3, 8, 0))
        second = self.traces(journey)[-1]
        self.assertEqual(second.state, "sent")
        # frequency cap (1 per 24 h, defer): after the first one's send time
        self.assertGreater(second.outbox_message_id.due_at, datetime(2026, 3, 3, 8, 0))

    # --- dry run ----------------------------------------------------------------

    def test_preview_matches_reality(self):
        no_consent = self.make_partner("Luca", "+39 333 111 2222", consent=False)
        journey = self.make_journey(
            [self.sms_step(self.tpl_hello), self.sms_step(self.tpl_hello, wait=2)],
            audience_domain=f"[('id', 'in', {(self.partner | no_consent).ids})]",
        )
        self.start(journey)
        with self.frozen_now(T0):
            preview = self.env["sms.journey.preview"].create({"journey_id": journey.id, "days": 5})
            preview.action_compute()
        self.assertFalse(journey.participant_ids, "the preview changes nothing")
        self.assertFalse(self.outbox(partner_id=self.partner.id))
        self.assertEqual(preview.sms_count, 2)
        self.assertEqual(preview.skipped_count, 2)
        self.assertEqual(preview.cost, 0.02)
        expected = sorted(
            (line.partner_id.id, line.step_id.id, line.scheduled_at, bool(line.skip_reason))
            for line in preview.line_ids
        )
        self.assertIn("Hello Giulia Rossi", preview.line_ids[0].body)
        for day in range(5):
            self.run_crons(T0 + timedelta(days=day))
        actual = sorted(
            (
                t.partner_id.id,
                t.step_id.id,
                t.outbox_message_id.due_at if t.state == "sent" else t.executed_at,
                t.state == "skipped",
            )
            for t in self.traces(journey)
        )
        self.assertEqual(actual, expected)

    def test_removed_step_moves_participants_on(self):
        journey = self.make_journey([self.sms_step(), self.sms_step(wait=1), self.sms_step(wait=2)])
        self.start(journey)
        self.run_crons(T0)
        participant = journey.participant_ids
        second, third = journey.step_ids.sorted()[1:]
        self.assertEqual(participant.step_id, second)
        second.unlink()
        self.assertEqual(participant.step_id, third)

    def test_enrolment_in_batches(self):
        partners = self.partner | self.make_partner("Marco", "+39 333 765 4321")
        partners |= self.make_partner("Luca", "+39 333 111 2222")
        for partner in partners:
            partner.last_order_date = date(2026, 1, 1)
        journey = self.make_journey(
            [self.sms_step()],
            trigger="inactivity",
            inactivity_days=30,
            audience_domain=f"[('id', 'in', {partners.ids})]",
        )
        self.start(journey, datetime(2026, 1, 20))
        with self.frozen_now(datetime(2026, 2, 1, 9, 0)):
            created, remaining = journey._enrol(datetime(2026, 2, 1, 9, 0), 2)
            self.assertEqual((created, remaining), (0, 3), "the window scanned and staged")
            created, remaining = journey._enrol(datetime(2026, 2, 1, 9, 0), 2)
            self.assertEqual((created, remaining), (2, 1), "its first chunk")
            created, remaining = journey._enrol(datetime(2026, 2, 1, 9, 0), 2)
            self.assertEqual((created, remaining), (1, 0))
        self.assertEqual(journey.participant_ids.partner_id, partners)

    def test_inactivity_catch_up_on_activation(self):
        """Contacts already inactive enter on activation when the journey catches up;
        the preview of the draft journey shows the same SMS."""
        recent = self.make_partner("Marco", "+39 333 765 4321")
        old = self.make_partner("Luca", "+39 333 111 2222")
        self.partner.last_order_date = date(2025, 11, 1)  # inactive for 4 months
        recent.last_order_date = date(2026, 2, 20)  # not yet inactive
        old.last_order_date = date(2024, 1, 1)  # beyond the catch-up window
        journey = self.make_journey(
            [self.sms_step(), self.sms_step(wait=30)],
            trigger="inactivity",
            inactivity_days=30,
            catch_up_days=365,
            audience_domain=f"[('id', 'in', {(self.partner | recent | old).ids})]",
        )
        with self.frozen_now(T0):
            preview = self.env["sms.journey.preview"].create({"journey_id": journey.id, "days": 40})
            preview.action_compute()
        # (the crons run once a day here: compare the caught-up contact, whose times
        # do not depend on when the crons run)
        expected = sorted(
            (line.step_id.id, line.scheduled_at)
            for line in preview.line_ids
            if line.partner_id == self.partner
        )
        self.assertEqual(len(expected), 2)
        self.assertIn(recent, preview.line_ids.partner_id)
        self.assertNotIn(old, preview.line_ids.partner_id)
        self.start(journey)
        for day in range(40):
            self.run_crons(T0 + timedelta(days=day))
        participants = journey.participant_ids
        self.assertEqual(participants.partner_id, self.partner | recent)
        mine = participants.filtered(lambda p: p.partner_id == self.partner)
        self.assertEqual(mine.enrolled_at, T0, "caught up on the day of activation")
        self.assertEqual(mine.key, "inactive:2025-11-01")
        actual = sorted(
            (t.step_id.id, t.outbox_message_id.due_at)
            for t in self.traces(journey, state="sent", partner_id=self.partner.id)
        )
        self.assertEqual(actual, expected)
        self.assertEqual(
            participants.filtered(lambda p: p.partner_id == recent).enrolled_at.date(),
            date(2026, 3, 22),
            "crossing 30 days after its last order",
        )
        # without catching up only the contacts crossing from now on enter
        journey.action_stop()
        journey.action_draft()
        journey.catch_up_days = 0
        journey.participant_ids.unlink()
        self.start(journey, T0 + timedelta(days=40))
        self.run_crons(T0 + timedelta(days=41))
        self.assertFalse(journey.participant_ids)

    def test_other_company_does_not_see_the_journey(self):
        journey = self.make_journey([self.sms_step()])
        self.start(journey)
        self.run_crons(T0)
        other = self.env["res.company"].create({"name": "Other company"})
        user = self.env["res.users"].create(
            {
                "name": "Other user",
                "login": "other.journey",
                "company_id": other.id,
                "company_ids": [(6, 0, other.ids)],
                "groups_id": [(4, self.env.ref("sms_journey.group_sms_journey_user").id)],
            }
        )
        for model, field in (
            ("sms.journey", "id"),
            ("sms.journey.participant", "journey_id"),
            ("sms.journey.trace", "journey_id"),
        ):
            domain = [(field, "=", journey.id)]
            self.assertTrue(self.env[model].search(domain), model)
            self.assertFalse(self.env[model].with_user(user).search(domain), model)

    def test_activity_and_move_to_active(self):
        salesman = self.env["res.users"].create(
            {"name": "Sara Sales", "login": "sara.journey", "email": "sara@acme.test"}
        )
        self.partner.user_id = salesman
        self.partner.last_order_date = date(2025, 1, 1)
        journey = self.make_journey(
            [
                {"action": "activity", "activity_summary": "Call back"},
                {"action": "set_active"},
            ]
        )
        self.start(journey)
        self.run_crons(T0)
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.partner.id)]
        )
        self.assertEqual(activity.user_id, salesman)
        self.assertEqual(activity.summary, "Call back")
        self.assertEqual(self.partner.last_activity_date, T0.date())
        self.assertEqual(journey.participant_ids.state, "completed")

    def test_journey_form(self):
        with Form(self.env["sms.journey"]) as form:
            form.name = "Form journey"
            form.trigger = "birthday"
            with form.step_ids.new() as step:
                step.action = "sms"
                step.template_id = self.tpl_hello
            with form.step_ids.new() as step:
                step.action = "tag_add"
                step.tag_id = self.env["res.partner.category"].create({"name": "VIP"})
        journey = form.record
        self.assertEqual(len(journey.step_ids), 2)
        self.assertIn("GSM-7", journey.step_ids[0].body_info)
        self.assertEqual(journey.step_ids[0].name, "Hello")
        long_template = self.tpl_hello.copy({"body": "x" * 500})
        journey.step_ids[0].template_id = long_template
        self.assertTrue(journey.step_ids[0].body_warning)

    # --- surveys from a journey step -----------------------------------------

    def test_survey_step_records_the_answer_and_counts_as_reply(self):
        question = self.env["sms.survey.question"].create(
            {
                "name": "Visit",
                "body": "How was your visit? Reply 1 to 5.",
                "answer_type": "scale",
            }
        )
        journey = self.make_journey(
            [
                {"action": "survey", "survey_question_id": question.id, "wait_amount": 0},
                self.sms_step(wait=1, unit="hours", condition="replied"),
            ]
        )
        self.start(journey)
        self.run_crons(T0)
        survey_trace = self.traces(journey, state="sent")
        self.assertEqual(len(survey_trace), 1)
        self.assertEqual(survey_trace.action, "survey")
        self.assertEqual(survey_trace.outbox_message_id.body, question.body)
        with self.frozen_now(T0 + timedelta(minutes=30)):
            self.receive("4", message_id="SMsurvey1")
        answer = self.env["sms.survey.answer"].search([("question_id", "=", question.id)])
        self.assertEqual(answer.partner_id, self.partner)
        self.assertEqual(answer.value, "4")
        self.assertTrue(survey_trace.replied_at)
        self.run_crons(T0 + timedelta(hours=2))
        self.assertEqual(len(self.traces(journey, state="sent")), 2, "replied: the thank-you goes")

    def test_appointment_step_reminder_answered_c(self):
        event = self.env["calendar.event"].create(
            {
                "name": "Fitting",
                "start": T0 + timedelta(days=1),
                "stop": T0 + timedelta(days=1, hours=1),
                "partner_ids": [(6, 0, self.partner.ids)],
            }
        )
        journey = self._run_appointment_journey()
        trace = self.traces(journey, state="sent")
        self.assertEqual(trace.action, "appointment")
        self.assertEqual(trace.outbox_message_id.mail_message_id.res_id, event.id)
        self.assertIn("Reply C to confirm", trace.outbox_message_id.body)
        with self.frozen_now(T0 + timedelta(minutes=10)):
            self.env["sms.gateway.message"]._cron_dispatch()
            self.receive("C", message_id="SMappt1")
        attendee = event.attendee_ids.filtered(lambda a: a.partner_id == self.partner)
        self.assertEqual(attendee.state, "accepted")

    def _run_appointment_journey(self):
        """A transactional journey with one appointment-reminder step, run at T0."""
        template = self.env.ref("sms_journey.sms_template_appointment_reminder")
        journey = self.make_journey(
            [{"action": "appointment", "template_id": template.id, "wait_amount": 0}],
            sms_kind="transactional",
        )
        self.start(journey)
        self.run_crons(T0)
        return journey

    def test_appointment_step_without_appointment_is_skipped(self):
        journey = self._run_appointment_journey()
        trace = self.traces(journey)
        self.assertEqual(trace.state, "skipped")
        self.assertIn("No upcoming appointment", trace.skip_reason)
