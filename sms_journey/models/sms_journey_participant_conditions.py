import logging

from odoo import api, models
from odoo.tools.safe_eval import safe_eval

from ..tools import flow
from ..tools import journey as journey_tools
from ..tools import keywords as keyword_tools

_logger = logging.getLogger(__name__)


class SmsJourneyParticipant(models.Model):
    """The conditions of the steps, as this participant meets them: its reactions to
    its previous SMS (clicks, replies, keywords, orders) and its contact's facts
    (consent, survey answers, a filter). ``tools/journey.py``'s ``condition_met`` says
    which to ask; the preview asks the contact's facts too."""

    _inherit = "sms.journey.participant"

    def _previous_sms_trace(self):
        return self.trace_ids.filtered(
            lambda t: t.action in journey_tools.SMS_ACTIONS and t.state == "sent"
        ).sorted("id")[-1:]

    def _condition_met(self, step):
        """Whether ``step``'s condition holds for this participant
        (``journey.condition_met``): its reactions to its previous SMS, or its
        contact's facts."""
        return journey_tools.condition_met(
            step.condition,
            lambda reaction: self._reacted(step, reaction),
            lambda: self._partner_condition_met(step, self.partner_id),
        )

    def _reacted(self, step, reaction):
        """Whether the contact reacted to its previous SMS of the journey (or since
        enrolment): ``'clicked'``, ``'replied'``, ``'keyword'`` (the step's),
        ``'ordered'``."""
        previous = self._previous_sms_trace()
        if reaction == "clicked":
            return bool(previous.clicked_at)
        if reaction == "replied":
            return bool(previous.replied_at)
        since = previous.executed_at or self.enrolled_at
        if reaction == "keyword":
            return self._replied_keyword(step.condition_keyword, since)
        return self._ordered_since(since)

    @api.model
    def _partner_condition_met(self, step, partner):
        """The conditions read from the contact alone (no reaction to an SMS): still
        consenting, survey answer, contact filter. The preview asks them too."""
        if step.condition == "consenting":
            return partner.sms_consent_state == "opted_in"
        if step.condition == "survey":
            return self._answered(step, partner)
        if step.condition == "odoo_survey":
            return self._completed_survey(step, partner)
        if step.condition == "partner":
            return self._partner_matches(step, partner)
        return True

    @api.model
    def _answered(self, step, partner):
        """Whether the contact's latest answer to the step's question matches its value."""
        question = step.condition_question_id
        if not question:
            return False
        answer = (
            self.env["sms.survey.answer"]
            .sudo()
            .search(
                [("question_id", "=", question.id), ("partner_id", "=", partner.id)],
                order="answered_at desc, id desc",
                limit=1,
            )
        )
        if not answer:
            return False
        operator = step.condition_operator or "="
        value = answer.value if operator == "=" else answer.value_number
        return flow.compare(value, operator, step.condition_value)

    @api.model
    def _completed_survey(self, step, partner):
        """Whether the contact completed the step's Odoo survey (its latest completed
        answer, whatever link it came from) and, when the step has a value, whether that
        answer's score (%) satisfies it."""
        survey = step.condition_survey_id
        if not survey or not partner:
            return False
        answer = (
            self.env["survey.user_input"]
            .sudo()
            .search(
                [
                    ("survey_id", "=", survey.id),
                    ("partner_id", "=", partner.id),
                    ("state", "=", "done"),
                    ("test_entry", "=", False),
                ],
                order="end_datetime desc, id desc",
                limit=1,
            )
        )
        if not answer:
            return False
        if not (step.condition_value or "").strip():
            return True
        operator = step.condition_operator or ">="
        if operator == "=":  # a score: 100.0 is 100, not a text to match
            return flow.compare(answer.scoring_percentage, ">=", step.condition_value) and (
                flow.compare(answer.scoring_percentage, "<=", step.condition_value)
            )
        return flow.compare(answer.scoring_percentage, operator, step.condition_value)

    @api.model
    def _partner_matches(self, step, partner):
        """Whether the contact matches the step's contact filter (an invalid filter
        matches nobody)."""
        try:
            domain = safe_eval(step.condition_domain or "[]") or []
        except Exception:
            _logger.warning("Invalid contact filter on journey step %s", step.id)
            return False
        return bool(
            self.env["res.partner"].search_count([("id", "=", partner.id), *domain], limit=1)
        )

    def _replied_keyword(self, keyword, since):
        if not keyword:
            return False
        replies = (
            self.env["sms.interaction"]
            .sudo()
            .search(
                [
                    "|",
                    ("sms_journey_participant_id", "=", self.id),
                    ("partner_id", "=", self.partner_id.id),
                    ("received_at", ">=", since),
                ]
            )
        )
        words = [w.strip() for w in keyword.split(",") if w.strip()]
        return any(keyword_tools.match(r.body or "", words, "first_word") for r in replies)
