from odoo import models


class SmsInteraction(models.Model):
    """Replies answering an open SMS survey question.

    A valid answer to the contact's open question is recorded before keyword rules run
    ("5" or "YES" then mean the answer, not a keyword). An invalid one goes to the
    keyword rules; if none matches, the contact is asked once to clarify instead of
    getting the courtesy reply.
    """

    _inherit = "sms.interaction"

    def _apply_keyword_rules(self):
        if not self.consent_action and self._answer_open_survey():
            return
        return super()._apply_keyword_rules()

    def _handle_unmatched(self):
        return self._clarify_open_survey() or super()._handle_unmatched()

    def _answer_open_survey(self):
        request = self.env["sms.survey.request"].sudo()._open_for(self)
        if not request:
            return False
        return bool(self._record_survey_answer(request.question_id, request))

    def _record_survey_answer(self, question, request=None):
        """Store the reply as an answer to ``question`` if it is a valid one; returns the
        answer (or None). Used by open requests and by the keyword rule action."""
        self.ensure_one()
        parsed = question._parse(self.body or "")
        if not parsed:
            return None
        answer = (
            self.env["sms.survey.answer"]
            .sudo()
            .create(
                {
                    "question_id": question.id,
                    "partner_id": self.partner_id.id,
                    "value": parsed.value,
                    "value_number": parsed.number,
                    "answered_at": self.received_at,
                    "interaction_id": self.id,
                    "journey_id": self["sms_journey_id"].id
                    if "sms_journey_id" in self._fields
                    else False,
                }
            )
        )
        if request:
            request.write({"state": "answered", "answer_id": answer.id})
        if question.thanks:
            self._reply(question.thanks)
        return answer

    def _clarify_open_survey(self):
        request = self.env["sms.survey.request"].sudo()._open_for(self)
        if not request or request.clarification_sent:
            return False
        request.clarification_sent = True
        self._reply(request.question_id._clarification_text())
        return True
