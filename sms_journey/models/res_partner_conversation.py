"""res.partner: the contact's SMS conversation (the contact form's widget and reply box)
and the contact at a glance (smart buttons)."""

from odoo import fields, models
from odoo.exceptions import UserError

from .sms_sender import SmsRequest


def _glance(string, field_class=fields.Integer):
    """A fact of the contact at a glance: computed with the others, for SMS users."""
    return field_class(
        string,
        compute="_compute_sms_conversation_facts",
        groups="sms_journey.group_sms_journey_user",
    )


class ResPartner(models.Model):
    """The contact's SMS conversation and its facts at a glance, for SMS users."""

    _inherit = "res.partner"

    # the contact at a glance (smart buttons), for SMS users
    sms_sent_count = _glance("SMS sent")
    sms_received_count = _glance("SMS received")
    sms_journey_participant_count = _glance("Journeys")
    sms_survey_answer_count = _glance("Survey answers")
    sms_consent_log_count = _glance("Consent changes")
    sms_last_message = _glance("Last SMS", fields.Char)

    def _compute_sms_conversation_facts(self):
        """The contact at a glance: SMS sent and received, journeys, survey answers,
        consent changes and the last SMS, each counted in one query per model."""
        conversation = self.env["sms.conversation.message"]
        participants = dict(
            self.env["sms.journey.participant"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        answers = dict(
            self.env["sms.survey.answer"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        consents = dict(
            self.env["sms.consent.log"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            domain = conversation._conversation_domain(partner)
            counts = dict(conversation._read_group(domain, ["direction"], ["__count"]))
            last = conversation.search(domain, limit=1)
            partner.sms_sent_count = counts.get("out", 0)
            partner.sms_received_count = counts.get("in", 0)
            partner.sms_journey_participant_count = participants.get(partner, 0)
            partner.sms_survey_answer_count = answers.get(partner, 0)
            partner.sms_consent_log_count = consents.get(partner, 0)
            # an empty recordset would be written as its repr, "sms.conversation.message()"
            partner.sms_last_message = bool(last) and "{} {}: {}".format(
                "←" if last.direction == "in" else "→",
                fields.Datetime.to_string(last.date)[:16],
                last._conversation_rows()[0]["body"][:80],
            )

    def sms_conversation_read(self, offset=0, limit=30):
        """A page of the contact's SMS conversation for the contact form's widget: the
        ``limit`` latest messages after skipping ``offset`` newer ones, oldest first,
        and whether older ones remain; whether the reply box is shown, and if not why
        (``reply_refusal``, shown in its place); its contacts and numbers tell the widget
        which bus notifications are about it (``sms_conversation_live.py``)."""
        self.ensure_one()
        conversation = self.env["sms.conversation.message"]
        conversation.invalidate_model()  # rows of a view: their sources may have changed
        partners, numbers = scope = conversation._conversation_scope(self)
        messages = conversation.search(
            conversation._conversation_domain(self, scope), offset=offset, limit=limit + 1
        )
        number = self._sms_number()
        return {
            "messages": messages[:limit]._conversation_rows(),
            "has_more": len(messages) > limit,
            "can_reply": bool(number),
            "reply_refusal": ""
            if number
            else self.env._("Add a mobile or phone number to text this contact."),
            "partner_ids": partners.ids,
            "numbers": numbers,
        }

    def sms_conversation_send(self, body):
        """The reply box: send ``body`` to the contact through the one door to send
        (``sms.sender._send``, policy applied), as a transactional one-to-one answer,
        logged on the contact's chatter. Returns the conversation's new state. A text
        longer than the gateway takes is refused with the reason, nothing queued."""
        self.ensure_one()
        self.env["sms.conversation.message"].check_access("read")
        self.check_access("read")
        body = (body or "").strip()
        if not body:
            raise UserError(self.env._("Type a message first."))
        if not self._sms_number():
            raise UserError(self.env._("%s has no phone number.", self.display_name))
        # refused here, not by the provider after the SMS was queued
        self.env["sms.gateway"]._check_sms_length(body)
        self.env["sms.sender"]._send([SmsRequest(body=body, partner=self, kind="transactional")])
        return self.sms_conversation_read()

    def action_view_sms_conversation(self):
        """The contact's SMS as a list (smart button)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey.sms_conversation_message_action"
        )
        action["domain"] = self.env["sms.conversation.message"]._conversation_domain(self)
        action["context"] = {}
        return action

    def action_view_sms_journey_participants(self):
        return self._sms_related_action("sms_journey.sms_journey_participant_action")

    def action_view_sms_survey_answers(self):
        return self._sms_related_action("sms_journey.sms_survey_answer_action")

    def _sms_related_action(self, xmlid):
        """The action ``xmlid`` on the records of this contact (smart buttons)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_sms_consent_log(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_journey.sms_consent_log_action")
        action["domain"] = [("partner_id", "=", self.id)]
        return action
