"""sms.interaction: the answer given on the page of a reply link, for an SMS from a
one-way sender (``tools/reply_links.py``, ``sms_gateway_message_links.py``).

The page's answer is recorded as a reply of the SMS's contact and number (with the page,
time, IP and browser as its proof, ``web_proof``) and runs the inbound pipeline's own
handlers on a batch of one: the consent keywords (STOP, YES) through the whole pipeline,
an appointment through ``calendar.event._sms_answer``, a survey answer through
``_record_survey_answer``. So a link does what the reply would have done: the same
consent log, the same journey split, the same answer by SMS."""

from datetime import timedelta

from odoo import fields, models

from ..tools import reply_links
from ..tools.inbound_batch import InboundBatch

# the link's action → the consent keyword family its page stands for
CONSENT_FAMILIES = {"stop": "opt_out", "confirm": "confirm"}
# preferred words of the families (else the first active one)
PREFERRED_WORDS = {"opt_out": "STOP", "confirm": "YES"}
APPOINTMENT_ANSWERS = ("confirm", "cancel", "reschedule")


class SmsInteraction(models.Model):
    _inherit = "sms.interaction"

    web_proof = fields.Text(
        "Answered on a page",
        readonly=True,
        help="Answered on the page of a link of an SMS from a one-way sender: the page, "
        "the time, the address and the browser.",
    )

    def _resolve_link(self, token):
        """``(outbox row, ReplyLink, target, refusal)`` of a reply link's ``token``: the
        target is what the page answers (the event, the survey request; the row for
        STOP and YES); refusal is one of ``tools/reply_links``' or ``"gone"`` (the
        appointment passed, the question was answered or closed)."""
        Message = self.env["sms.gateway.message"].sudo()
        claimed = reply_links.peek(token)
        row = Message.browse(claimed[1]).exists() if claimed else Message
        link, refusal = reply_links.parse(Message._reply_key(), token, row.number or "")
        if refusal:
            return Message, None, None, refusal
        target = self._link_target(row, link.action)
        return row, link, target, (None if target else "gone")

    def _link_target(self, row, action):
        """What the page of ``action`` on outbox row ``row`` answers, or None."""
        now = fields.Datetime.now()
        if action in CONSENT_FAMILIES:
            return row
        if action == "contest":
            # the open contest whose keyword the SMS names (its link's label keeps it)
            contests = self.env["sms.contest"]._open_now(row.company_id)
            keyword = reply_links.named_keyword(row.body, contests.mapped("keyword"))
            return contests.filtered(lambda contest: contest.keyword == keyword)[:1] or None
        if action == "appointment":
            message = row.mail_message_id
            event = (
                self.env["calendar.event"]
                .sudo()
                .browse(message.res_id if message.model == "calendar.event" else ())
            )
            event = event.exists()
            if event and event.stop >= now and row.partner_id in event.attendee_ids.partner_id:
                return event
            return None
        if action == "survey":
            request = (
                self.env["sms.survey.request"]
                .sudo()
                .search([("sms_uuid", "=", row.sms_uuid), ("state", "=", "open")], limit=1)
            )
            if request and now <= request.sent_at + timedelta(days=request.question_id.open_days):
                return request
        return None

    def _answer_link(self, row, action, target, answer, web_proof):
        """Record the page's ``answer`` to ``action`` as a reply of ``row``'s contact and
        run the pipeline's handler on it, with its answers sent at once (a batch of one).
        Returns the reply, or None when ``answer`` is not one the page offers."""
        body = self._link_body(action, target, answer)
        if not body:
            return None
        reply = self.sudo().create(
            {
                "number": row.number,
                "recipient": row.sender_id.value or row.gateway_id.sender or False,
                "body": body,
                "gateway_id": row.gateway_id.id,
                "partner_id": row.partner_id.id,
                "outbox_message_id": row.id,
                "web_proof": web_proof,
            }
        )
        batch = InboundBatch()
        if action in CONSENT_FAMILIES or action == "contest":
            # the whole pipeline, as the texted word: the consent keywords, the contest's
            # keyword rule
            reply._run_pipeline(batch)
        else:
            reply = reply.with_context(lang=reply._answer_lang(batch))
            reply._note_reply(batch)
            if action == "appointment":
                target._sms_answer(reply, batch, answer)
            else:
                reply._record_survey_answer(batch, target.question_id, target)
        reply._flush_batch(batch)
        return reply

    def _link_body(self, action, target, answer):
        """The text the reply would have said: the consent keyword, the appointment's
        answer, the survey answer (None when the question does not take it)."""
        if action in CONSENT_FAMILIES:
            family = CONSENT_FAMILIES[action]
            words = self.env["sms.consent.keyword"]._get_families().get(family) or ()
            preferred = PREFERRED_WORDS[family]
            return preferred if preferred in words else (words[0] if words else None)
        if action == "contest":
            return target.keyword if answer == "enter" else None
        if action == "appointment":
            labels = {
                "confirm": self.env._("Confirm"),
                "cancel": self.env._("Cancel"),
                "reschedule": self.env._("Reschedule"),
            }
            return labels.get(answer)
        answer = (answer or "").strip()[:500]
        return answer if answer and target.question_id._parse(answer) else None

    # --- what the page shows ---------------------------------------------------------

    def _link_page(self, row, action, target):
        """The title, the question and the answers ``(value, label)`` of the page of
        ``action`` on ``row``, in the contact's language."""
        company = row.company_id or self.env.company
        brand = company.sms_brand_name or company.name
        partner = row.partner_id
        self = self.with_context(lang=partner._sms_lang(company) if partner else None)
        if action == "stop":
            return {
                "title": self.env._("Stop the SMS of %s", brand),
                "question": self.env._(
                    "The number ending in %(end)s will receive no more SMS from %(brand)s.",
                    end=row.number[-3:],
                    brand=brand,
                ),
                "options": [("stop", self.env._("Unsubscribe"))],
            }
        if action == "confirm":
            return {
                "title": self.env._("SMS from %s", brand),
                "question": self.env._("Confirm that you want to receive our SMS."),
                "options": [("yes", self.env._("Yes, I subscribe"))],
            }
        if action == "contest":
            return {
                "title": self.env._("%(brand)s: %(contest)s", brand=brand, contest=target.name),
                "question": self.env._(
                    "Enter the contest with the number ending in %s.", row.number[-3:]
                ),
                "options": [("enter", self.env._("Enter the contest"))],
            }
        if action == "appointment":
            return {
                "title": target.name,
                "question": target.get_display_time_tz(partner.tz),
                "options": [
                    ("confirm", self.env._("Confirm")),
                    ("cancel", self.env._("Cancel")),
                    ("reschedule", self.env._("Ask for another time")),
                ],
            }
        question = target.question_id
        return {
            "title": brand,
            "question": question.body,
            "options": [(option, option) for option in self._survey_options(question)],
        }

    def _survey_options(self, question):
        """The answers the page of ``question`` offers: each one its reply could be."""
        if question.answer_type == "scale":
            return [str(grade) for grade in range(question.scale_min, question.scale_max + 1)]
        if question.answer_type == "yes_no":
            return [self.env._("Yes"), self.env._("No")]
        return question._choice_list()

    def _link_done(self, action, reply, answer):
        """What the page says once answered."""
        if action == "stop":
            return self.env._("You are unsubscribed and will receive no more SMS from us.")
        if action == "confirm":
            if reply.consent_action == "confirm":
                return self.env._("Thank you, your SMS subscription is confirmed.")
            return self.env._("There is no subscription waiting for your confirmation.")
        if action == "contest":
            return self.env._("Thank you, your entry is recorded.")
        if action == "appointment":
            return {
                "confirm": self.env._("Thank you, your appointment is confirmed."),
                "cancel": self.env._("Your appointment is canceled."),
                "reschedule": self.env._("We will contact you to find a new time."),
            }[answer]
        return self.env._("Thank you for your answer.")
