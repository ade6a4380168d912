from datetime import timedelta

from odoo import fields, models

from .sms_journey_participant import make_active, set_journey_stage
from .sms_sender import SmsRequest


class SmsJourneyParticipant(models.Model):
    """What the steps do for a participant, one method per step action, found through
    ``_step_actions`` (an SMS step's texts go in one batch: ``_send_sms_batch``)."""

    _inherit = "sms.journey.participant"

    def _step_actions(self):
        """{step action: method(step, trace) doing it for this participant}, returning
        when its SMS goes (or None). A branch step has no action: its outcome is the
        path it takes."""
        return {
            "sms": self._action_sms,
            "survey": self._action_survey,
            "appointment": self._action_appointment,
            "tag_add": self._action_tag_add,
            "tag_remove": self._action_tag_remove,
            "set_stage": self._action_set_stage,
            "set_active": self._action_set_active,
            "opt_out": self._action_opt_out,
            "activity": self._action_activity,
            "end": self._action_end,
        }

    def _action_sms(self, step, trace):
        """An SMS step that cannot text this participant: the others are sent in one
        batch per step (``_apply_due_steps`` → ``_send_sms_batch``)."""
        trace._skip(self._sms_skip_reason(step))

    def _action_survey(self, step, trace):
        """Text the step's survey question; its reply is recorded as the answer."""
        question = step.survey_question_id
        if not question:
            trace._skip(self.env._("No survey question on the step"))
            return None
        if not self.partner_id._sms_number():
            trace._skip(self.env._("The contact has no phone number"))
            return None
        lang = self.partner_id._sms_lang(self.journey_id.company_id)
        body = question.with_context(lang=lang).body
        sms = self._send_one(body, self.partner_id, kind="marketing", reply_link="survey")
        if not sms.verdict.canceled:
            self.env["sms.survey.request"].create(
                {
                    "question_id": question.id,
                    "partner_id": self.partner_id.id,
                    "number": sms.verdict.number,
                    "sms_uuid": sms.uuid,
                    "sent_at": fields.Datetime.now(),
                }
            )
        return trace._record_sent(sms)

    def _action_appointment(self, step, trace):
        """Remind the contact of its next appointment, posted on the event so that the
        C/A/R keyword rules find it."""
        template = step.template_id
        if template.model != "calendar.event":
            trace._skip(self.env._("The step needs an SMS template of Calendar Event"))
            return None
        now = fields.Datetime.now()
        event = (
            self.env["calendar.event"]
            .sudo()
            .search(
                [
                    ("partner_ids", "in", self.partner_id.ids),
                    ("start", ">", now),
                    ("start", "<=", now + timedelta(days=step.appointment_days or 2)),
                ],
                order="start",
                limit=1,
            )
        )
        if not event:
            trace._skip(self.env._("No upcoming appointment"))
            return None
        lang = self.partner_id._sms_lang(self.journey_id.company_id)
        body = template.with_context(lang=lang)._render_field("body", event.ids, compute_lang=True)[
            event.id
        ]
        # posted on the event, so that the C/A/R keyword rules find it
        sms = self._send_one(body, self.partner_id, thread=event, template=template)
        return trace._record_sent(sms)

    def _send_one(self, body, partner, kind=None, thread=None, template=None, reply_link=None):
        """Send one SMS of this participant's journey through ``sms.sender._send``."""
        request = SmsRequest(
            body=body,
            partner=partner,
            thread=thread,
            kind=kind or self.journey_id.sms_kind,
            template=template,
            reply_link=reply_link,
        )
        return self.env["sms.sender"]._send([request], company=self.journey_id.company_id)[0]

    def _action_tag_add(self, step, trace):
        if step.tag_id:
            self.partner_id.sudo().write({"category_id": [(4, step.tag_id.id)]})
        trace._done()

    def _action_tag_remove(self, step, trace):
        if step.tag_id:
            self.partner_id.sudo().write({"category_id": [(3, step.tag_id.id)]})
        trace._done()

    def _action_set_stage(self, step, trace):
        set_journey_stage(self.partner_id, step.stage_value)
        trace._done()

    def _action_set_active(self, step, trace):
        make_active(self.partner_id, fields.Datetime.now())
        trace._done()

    def _action_opt_out(self, step, trace):
        proof = self.env._(
            "Journey %(journey)s, step %(step)s: no reaction.",
            journey=self.journey_id.name,
            step=step.name,
        )
        # the seeds' unsubscribe list is a marketing list: order and appointment SMS go on
        self.partner_id._sms_marketing_opt_out("api", proof)
        trace._done()
        self._exit(self.env._("Moved to the marketing unsubscribed list"), state="opted_out")

    def _action_activity(self, step, trace):
        partner = self.partner_id
        user = partner.user_id or partner.commercial_partner_id.user_id or self.env.user
        record = self._source() or partner
        if not hasattr(record, "activity_schedule"):
            record = partner
        record.sudo().activity_schedule(
            activity_type_id=step.activity_type_id.id
            or self.env.ref("mail.mail_activity_data_todo").id,
            summary=step.activity_summary or self.journey_id.name,
            user_id=user.id,
        )
        trace._done()

    def _action_end(self, step, trace):
        trace._done()
        self._complete(self.env._("Ended by a step"))
