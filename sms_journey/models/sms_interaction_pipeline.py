"""What a received SMS means, step by step (the order is in ``_answer``). Every step
takes the reply's ``InboundBatch`` (``tools/inbound_batch.py``) and queues on it what the
batch does at its end: the answers (``_reply``), the chatter post, the facts."""

from odoo import models

from .isolation import run_isolated
from .sms_interaction import COURTESY_INTERVAL
from .sms_sender import SmsRequest


class SmsInteractionPipeline(models.Model):
    """The inbound pipeline of ``sms.interaction`` (see the module docstring)."""

    _inherit = "sms.interaction"

    def _run_pipeline(self, batch):
        """What a reply means, step by step (see ``sms.interaction``'s docstring); its
        contact and the SMS it answers were resolved with its batch (``_resolve_senders``)."""
        # From here on every answer (consent confirmations, HELP, survey thanks, keyword
        # rule replies, the courtesy reply) is written in the contact's language.
        self.with_context(lang=self._answer_lang(batch))._answer(batch)

    def _answer_lang(self, batch):
        """The language of the answers to this reply: the contact's, else the language
        of the company the SMS came in for, else English; looked up once per batch for
        the replies with the same contact language and company."""
        company = self.company_id or self.env.company
        return batch.lookup(
            ("lang", self.partner_id.lang or False, company.id),
            lambda: self.partner_id._sms_lang(company),
        )

    def _answer(self, batch):
        """The pipeline after the sender is known, in the language of the answers."""
        self.env["sms.consent.keyword"]._handle_reply(self, batch)
        self._note_reply(batch)
        if self.consent_action:
            return
        if self._answer_open_survey(batch):
            return
        if not self._apply_keyword_rules(batch):
            if not self._clarify_open_survey(batch):
                self._send_courtesy_reply(batch)

    def _note_reply(self, batch):
        """What every reply is, whatever it says: a post on its contact's chatter, an
        interaction of the contact (customer facts), both written with the batch
        (``_flush_batch``), and the answer to the SMS it replies to (journeys before
        the survey: an answer records the journey the reply belongs to)."""
        if self.partner_id:
            batch.post(self)
            batch.touch(self.partner_id.id, self.received_at)
        self._apply_journeys(batch)

    def _consent_proof(self):
        """The proof of the consent this reply gives: the SMS, or the page of the link
        that stood for it (``web_proof``: page, time, IP, browser)."""
        self.ensure_one()
        if self.web_proof:
            return self.web_proof
        return self.env._("SMS from %(number)s: “%(body)s”", number=self.number, body=self.body)

    def _reply(self, batch, body, kind="transactional", template=None):
        """Answer on the number the contact wrote from, through the gateway and from the
        sender the SMS came in on (and so for its company), logged on the contact's
        chatter as OdooBot's — not the webhook's public user's. The sending policy
        applies as to any SMS.

        The answer is queued on ``batch`` and goes out with the batch's answers
        (``_send_replies``)."""
        self.ensure_one()
        request = SmsRequest(
            body=body,
            partner=self.partner_id,
            number=self.number,
            kind=kind,
            template=template,
            author_id=self.env["ir.model.data"]._xmlid_to_res_id("base.partner_root"),
            # from the number the customer wrote to (``tools/routing.py``)
            sender_id=self.gateway_id._sender_of_recipient(self.recipient),
        )
        batch.answer(self, request)

    # ------------------------------------------------------------------
    # Journeys and mailings: the SMS this reply answers
    # ------------------------------------------------------------------

    def _apply_journeys(self, batch):
        """Mark the SMS this reply answers as replied — the latest one sent to the
        number, journey step (``sms.journey.trace``) or SMS mailing (``mailing.trace``);
        on STOP, every running participant behind the number leaves its journey."""
        self.ensure_one()
        trace = self.env["sms.journey.trace"]
        if not batch.knows_none("journey", self.id):
            trace = trace._find_answered_by(self)
        mailing_trace = self.env["mailing.trace"]
        if not batch.knows_none("mailing", self.id):
            mailing_trace = mailing_trace._sms_find_answered_by(self, trace)
        if mailing_trace:
            mailing_trace._sms_record_reply(self)
            self._pipeline_write({"mailing_trace_id": mailing_trace.id})
        elif trace:
            trace._record_reply(self)
            self._pipeline_write(
                {
                    "sms_journey_participant_id": trace.participant_id.id,
                    "sms_journey_id": trace.journey_id.id,
                    "sms_journey_trace_id": trace.id,
                }
            )
        if self.consent_action == "opt_out":
            self._stop_journeys(trace)

    def _stop_journeys(self, trace):
        """The number opted out: every contact sharing it leaves its journeys, not only
        the one the reply was matched to (``trace``'s)."""
        partners = self.partner_id | trace.partner_id
        partners |= (
            self.env["res.partner"]
            .sudo()
            ._sms_partners_for_number(self.number, self.gateway_id.company_id)
        )
        self.env["sms.journey.participant"].sudo().search(
            [("partner_id", "in", partners.ids), ("state", "=", "running")]
        )._on_stop()

    # ------------------------------------------------------------------
    # Surveys: a valid answer to the contact's open question comes before keyword
    # rules ("5" or "YES" then mean the answer, not a keyword); an invalid one goes to
    # the keyword rules and, if none matches, the contact is asked once to clarify
    # instead of getting the courtesy reply.
    # ------------------------------------------------------------------

    def _answer_open_survey(self, batch):
        """Record the reply as the answer to the contact's open survey question; True
        when it was a valid answer."""
        if batch.knows_none("survey", self.id):
            return False
        request = self.env["sms.survey.request"].sudo()._open_for(self)
        if not request:
            return False
        return bool(self._record_survey_answer(batch, request.question_id, request))

    def _record_survey_answer(self, batch, question, request=None):
        """Store the reply as an answer to ``question`` if it is a valid one; returns the
        answer (or None). Used by open requests and by the keyword rule action. The
        answer's review request, if the question routes reviews, and the question's
        thanks are answers of ``batch``."""
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
                    "journey_id": self.sms_journey_id.id,
                }
            )
        )
        if question.review_routing:
            answer._route_review(batch)
        if request:
            request.write({"state": "answered", "answer_id": answer.id})
        if question.thanks:
            self._reply(batch, question.thanks)
        return answer

    def _clarify_open_survey(self, batch):
        """Ask once to clarify an answer the open survey question did not understand;
        True when the question was asked again."""
        if batch.knows_none("survey", self.id):
            return False
        request = self.env["sms.survey.request"].sudo()._open_for(self)
        if not request or request.clarification_sent:
            return False
        request.clarification_sent = True
        self._reply(batch, request.question_id._clarification_text())
        return True

    # ------------------------------------------------------------------
    # Keyword rules and the courtesy reply
    # ------------------------------------------------------------------

    def _apply_keyword_rules(self, batch):
        """Run the winning keyword rule; True when a rule matched."""
        self.ensure_one()
        rule, keyword = self.env["sms.keyword.rule"]._find_for_interaction(self, batch)
        if not rule:
            return False
        self._pipeline_write({"matched_rule_id": rule.id, "matched_keyword": keyword})
        # a broken rule is logged on it; the reply stays matched to it
        run_isolated(rule, self.env._("Keyword rule"), rule._run_actions, self, batch)
        return True

    def _send_courtesy_reply(self, batch):
        """Answer with the company's courtesy text, unless this number already got one
        in the last 24 hours (in the batch, or before)."""
        self.ensure_one()
        text = (self.company_id or self.env.company)._sms_courtesy_reply()
        if not text:
            return False
        if not batch.knows_none("courtesy", self.id) and (
            batch.courtesy_sent_to(self.number)
            or self.search_count(
                [
                    ("number", "=", self.number),
                    ("courtesy_sent", "=", True),
                    ("received_at", ">", self.received_at - COURTESY_INTERVAL),
                    ("id", "!=", self.id),
                ],
                limit=1,
            )
        ):
            return False
        batch.mark_courtesy(self.id, self.number)  # marked with its batch (``_record_batch``)
        self._reply(batch, text)
        return True
