import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import uuid4

from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..tools import outbox as outbox_rules
from ..tools import phone as phone_tools
from ..tools import policy, send_rules

_logger = logging.getLogger(__name__)

# Policy cancellations → sms.sms failure_type (the icon and text of Odoo's chatter).
CANCEL_TO_FAILURE_TYPE = {
    policy.INVALID_NUMBER: "sms_number_format",
    policy.OPTED_OUT: "sms_blacklist",
    policy.MARKETING_OPT_OUT: "sms_optout",
    policy.NO_CONSENT: "sms_optout",
    policy.FREQUENCY_CAP: "sms_optout",
    policy.LEGAL_CAP: "sms_optout",
    policy.NO_SEND_WINDOW: "sms_optout",
    policy.DESTINATION_NOT_ALLOWED: "sms_country_not_supported",
    policy.UNDELIVERABLE: "sms_invalid_destination",
    policy.GLOBAL_HOLDOUT: "sms_optout",
}


@dataclass(frozen=True)
class PolicyItem:
    """One SMS as the policy sees it."""

    kind: str
    partner: models.Model  # res.partner, may be empty
    number: str
    sanitized: bool = False  # ``number`` is the partner's phone_sanitized (E.164 already)
    list_consent: bool = False  # sent by a mailing to a mailing list the number is on
    # what it costs when it leaves (a queued outbox row's cost; 0 before it is queued):
    # what it takes of the company's marketing budget
    cost: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """The policy's decision for one SMS, with what the records need to show it."""

    decision: policy.Decision
    number: str  # E.164 when it parsed, else as given
    reason: str | None = None  # readable: why canceled or deferred
    # readable: the legal send windows of the destination and the zones they hold in
    # (marketing SMS through an outbox; empty when no rule applies)
    legal_windows: str = ""

    @property
    def canceled(self):
        return self.decision.canceled

    @property
    def failure_type(self):
        return CANCEL_TO_FAILURE_TYPE.get(self.decision.reason, "unknown")


@dataclass
class SmsRequest:
    """One SMS one of our features wants to send (see ``sms.sender._send``)."""

    body: str
    partner: models.Model  # the recipient (res.partner, may be empty for unknown numbers)
    thread: models.Model | None = None  # the record whose chatter logs it (default: partner)
    number: str | None = None  # default: the partner's phone
    kind: str = "transactional"
    template: models.Model | None = None  # sms.template it was written from
    author_id: int | None = None  # default: the current user's partner
    # the sms.gateway.sender id to leave from (False: the gateway's default sender);
    # None: chosen by destination. Answers to a reply leave from the one it came in on.
    sender_id: int | bool | None = None
    # the reply it asks for ("survey", "confirm": ``tools/reply_links.ACTIONS``): from a
    # one-way sender it carries a link to a page instead (``sms.gateway.message``)
    reply_link: str | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """One SMS its sender logged on a chatter, for ``sms.gateway.message._enqueue_logged``."""

    uuid: str
    partner: models.Model  # res.partner, may be empty
    body: str
    kind: str
    message: models.Model  # its chatter mail.message, may be empty
    template: models.Model  # sms.template, may be empty
    verdict: Verdict
    sender_id: int | bool | None = None  # as SmsRequest.sender_id
    reply_link: str | None = None  # as SmsRequest.reply_link


@dataclass
class SentSms:
    """What became of one :class:`SmsRequest`."""

    request: SmsRequest
    uuid: str
    verdict: Verdict
    message: models.Model  # its chatter log message (mail.message, may be empty)
    outbox: models.Model  # sms.gateway.message (empty on Odoo's IAP path)
    sms: models.Model = field(default=None)  # sms.sms (IAP path only)

    @property
    def due_at(self):
        return self.verdict.decision.due_at


class SmsSender(models.AbstractModel):
    """The one door through which sms_journey's features send, and the policy they share.

    ``_send(requests)`` is the door: journeys, keyword-rule replies, consent and courtesy
    answers and surveys call it. It logs each SMS on its record's chatter, asks the
    policy (``tools/policy.py``) about each, and hands the result to the transport:

    - with a gateway, the outbox (``sms.gateway.message._enqueue_logged``), which holds
      deferred SMS until their time;
    - without one, Odoo's ``sms.sms`` and its IAP service; what the policy cancels is
      recorded canceled and never reaches IAP.

    ``_decide(company, items)`` is the policy on records: one query for the blacklist,
    one for the frequency-cap history, the legal rules of the destinations
    (``sms.send.rule``, cached), the gateway's allowed destinations (cached) and the
    company's marketing budget (``sms_sender_cost_guard.py``), then ``policy.decide``
    per SMS. Odoo's own SMS
    (``sms.sms._send``) and the journey preview call it too.
    """

    _name = "sms.sender"
    _description = "SMS sender (sending policy and transport)"

    # ------------------------------------------------------------------
    # Policy
    # ------------------------------------------------------------------

    @api.model
    def _policy_rules(self, company, timing=True):
        return policy.Rules(
            consent_required=company.sms_marketing_consent == "opt_in",
            window_start=company.sms_send_window_start,
            window_end=company.sms_send_window_end,
            cap=company.sms_frequency_cap,
            cap_hours=company.sms_frequency_cap_hours,
            cap_policy=company.sms_frequency_cap_policy,
            timing=timing,
        )

    @api.model
    def _decide(
        self,
        company,
        items,
        now=None,
        timing=True,
        cap_times=None,
        gateway=None,
        budget=None,
        legal_hold=False,
    ):
        """The :class:`Verdict` of each :class:`PolicyItem` of ``items``, in order.
        ``timing``: quiet hours, caps and the marketing budget apply (an outbox can hold
        the SMS); without it (Odoo's IAP path) a number we cannot parse is left for the
        provider to judge, as Odoo does. ``legal_hold`` (without ``timing``): the legal
        windows of the destination still defer a marketing SMS (Odoo's queue holds it,
        ``sms.sms.sms_journey_send_after``). SMS to one contact in one batch share its cap.
        ``gateway``: its allowed destinations apply. ``budget``: the company's
        ``cost_guard.MonthlyBudget`` the SMS spend (the dispatch's; by default what is
        left this month). Only marketing SMS read consent, zones and settings: other SMS
        cost no query but the blacklist's (none while it is empty)."""
        now = now or fields.Datetime.now()
        if not items:
            return []
        marketing = [item for item in items if item.kind == "marketing"]
        rules = self._policy_rules(company, timing) if marketing else policy.Rules(timing=timing)
        if legal_hold and not timing:
            rules = dataclasses.replace(rules, legal_hold=True)
        if timing and marketing and budget is None:
            budget = self._marketing_budget(company, now)
        rules = self._cost_guard_rules(rules, gateway, budget)
        numbers = [self._e164(item, company, lenient=not timing) for item in items]
        blacklisted = self._blacklisted(numbers)
        if cap_times is None:
            cap_times = self._batch_cap_times(marketing if timing else [], company, now)
        zoned = timing or rules.legal_hold  # the recipient's zones and legal rules are read
        legal_rules = self.env["sms.send.rule"]._active_send_rules() if zoned and marketing else ()
        # the company's global control group while its period runs (none: no draw)
        holdout = marketing and self.env["sms.global.holdout.period"]._running(company, now)
        consent_by_number = self._consent_by_number(
            [e164 for item, (e164, _e) in zip(items, numbers, strict=True)
             if item.kind == "marketing" and not item.partner and e164]
        )  # fmt: skip
        verdicts = []
        for item, (e164, error) in zip(items, numbers, strict=True):
            partner = item.partner
            if not e164 and not timing:
                # Odoo's IAP path reports a missing number itself, as without us
                verdicts.append(Verdict(policy.Decision(policy.SEND, now), item.number or ""))
                continue
            recipient = policy.Recipient(e164=e164, blacklisted=bool(e164) and e164 in blacklisted)
            if item.kind == "marketing" and e164:
                recipient = self._marketing_recipient(
                    recipient, item, company, zoned, cap_times, consent_by_number, legal_rules
                )
                if budget and not budget.allows(item.cost):
                    recipient = dataclasses.replace(recipient, over_budget=True)
                if holdout and holdout._holds_out(partner):
                    recipient = dataclasses.replace(recipient, global_holdout=True)
            decision = policy.decide(item.kind, recipient, rules, now)
            if item.kind == "marketing" and not decision.canceled:
                self._count_marketing(item, decision, cap_times, budget)
            verdicts.append(
                Verdict(
                    decision=decision,
                    number=e164 or item.number or "",
                    reason=self._reason_text(decision, partner, e164, error, rules, recipient),
                    legal_windows=self._legal_windows_text(recipient),
                )
            )
        return verdicts

    @api.model
    def _batch_cap_times(self, marketing, company, now):
        """The recent marketing SMS times of the contacts of the ``marketing`` items,
        which a batch shares and adds to as it goes (``_count_marketing``)."""
        if not marketing:
            return {}
        partners = self.env["res.partner"].union(*(i.partner for i in marketing))
        return self._recent_marketing_times(partners, company, now)

    @api.model
    def _marketing_recipient(
        self, recipient, item, company, zoned, cap_times, by_number, legal_rules=()
    ):
        """``recipient`` completed with what marketing SMS need: consent (the contact's,
        else that of the contacts behind the number, else the mailing-list
        subscription), the zones it may be in, the legal rules of its destination
        (``tools/send_rules.py``) and cap history."""
        partner = item.partner
        if partner:
            consent, list_consent = partner.sms_consent_state or "unknown", item.list_consent
        elif recipient.e164 in by_number:
            # a contact's own record of consent says more than a list subscription
            consent, list_consent = by_number[recipient.e164], False
        else:
            consent, list_consent = "unknown", item.list_consent
        zones, applicable = ("UTC",), ()
        if zoned:
            zones, applicable = self._zones_and_legal_rules(
                partner, recipient.e164, company, legal_rules
            )
        return policy.Recipient(
            e164=recipient.e164,
            blacklisted=recipient.blacklisted,
            consent=consent,
            list_consent=list_consent,
            tz=zones[0],
            zones=zones,
            legal_rules=applicable,
            recent_marketing=tuple(cap_times.get(partner.id, ())) if partner else (),
            undeliverable=bool(partner) and partner.sms_suppressed_number == recipient.e164,
        )

    @api.model
    def _zones_and_legal_rules(self, partner, e164, company, legal_rules):
        """(the zones the recipient of ``e164`` may be in, the legal rules of
        ``legal_rules`` that apply to it) for ``partner`` (res.partner, may be empty):
        ``tools/send_rules.py``."""
        zones = send_rules.recipient_zones(
            partner.tz if partner else None, e164, company.partner_id.tz or self.env.user.tz
        )
        region = (partner.state_id.country_id.code, partner.state_id.code) if partner else None
        return zones, send_rules.applicable_rules(legal_rules, e164, region)

    @api.model
    def _consent_by_number(self, numbers):
        """{E.164: consent state of the contacts behind it} for SMS without a contact
        (mailing-list subscribers): opted in if one of them is, else opted out if one
        is, else unknown."""
        if not numbers:
            return {}
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search_read([("phone_sanitized", "in", list(set(numbers)))],
                         ["phone_sanitized", "sms_consent_state"])
        )  # fmt: skip
        states = {}
        for row in partners:
            states.setdefault(row["phone_sanitized"], set()).add(row["sms_consent_state"])
        return {
            number: next(
                (state for state in ("opted_in", "opted_out") if state in found), "unknown"
            )
            for number, found in states.items()
        }

    @api.model
    def _e164(self, item, company, lenient=False):
        """(E.164 or None, parse error or None) of ``item``'s number."""
        if item.sanitized and item.number:
            return item.number, None
        if not item.number:
            return None, self.env._("No phone number.")
        # Odoo stores numbers formatted in E.164: no region needed, no query
        if item.number.strip().startswith("+"):
            e164 = phone_tools.try_normalize(item.number)
            if e164:
                return e164, None
        country = (item.partner.country_id if item.partner else None) or company.country_id
        try:
            return phone_tools.normalize(item.number, country.code or None), None
        except phone_tools.InvalidPhoneNumber as error:
            return (item.number if lenient else None), str(error)

    @api.model
    def _blacklisted(self, numbers):
        """The blacklisted ones of ``numbers`` ((e164, error) pairs); no query when the
        blacklist is empty (Odoo's SMS paths are counted query by query in its tests)."""
        e164s = {e164 for e164, _error in numbers if e164}
        if not e164s or not self.env["phone.blacklist"]._sms_journey_any_active():
            return set()
        # phone.blacklist stores E.164 numbers; its ORM search would parse each again
        self.env["phone.blacklist"].flush_model(["number", "active"])
        rows = self.env.execute_query(
            SQL("SELECT number FROM phone_blacklist WHERE active AND number IN %s", tuple(e164s))
        )
        return {row[0] for row in rows}

    @api.model
    def _recent_marketing_times(
        self, partners, company, now, states=outbox_rules.CAP_STATES_AT_ENQUEUE, exclude_ids=()
    ):
        """{partner id: send times of its marketing SMS in the cap windows}: those in
        ``states`` (``tools/outbox.py``: queued ones count when an SMS is queued, not
        when it is sent), but the outbox rows ``exclude_ids`` (the ones asking). The
        windows: the company's frequency cap and the legal maximums per 24 hours
        (``sms.send.rule``); none of them, no query."""
        hours = max(
            company.sms_frequency_cap_hours if company.sms_frequency_cap > 0 else 0,
            self.env["sms.send.rule"]._max_per_day_hours(),
        )
        if not partners or hours <= 0:
            return {}
        since = now - timedelta(hours=hours)
        excluded = [("id", "not in", list(exclude_ids))] if exclude_ids else []
        rows = (
            self.env["sms.gateway.message"]
            .sudo()
            .search_read(
                [
                    ("partner_id", "in", partners.ids),
                    ("sms_kind", "=", "marketing"),
                    ("state", "in", states),
                    ("due_at", ">=", since),
                    *excluded,
                ],
                ["partner_id", "due_at", "sent_at"],
            )
        )
        times = {}
        for row in rows:
            times.setdefault(row["partner_id"][0], []).append(row["sent_at"] or row["due_at"])
        return times

    @api.model
    def _legal_windows_text(self, recipient):
        if not recipient.legal_rules:
            return ""
        return self.env._(
            "%(rules)s (%(zones)s)",
            rules=", ".join(rule.name for rule in recipient.legal_rules),
            zones=", ".join(recipient.zones),
        )

    # ------------------------------------------------------------------
    # The door
    # ------------------------------------------------------------------

    @api.model
    def _send(self, requests, gateway=None, company=None):
        """Send ``requests`` (:class:`SmsRequest`); returns a :class:`SentSms` each, in
        order.

        ``gateway``: the gateway to answer through (an inbound SMS's); by default the
        one of each SMS's destination (``sms.gateway._get_company_gateway``: the
        company's routes, else its gateway). ``company`` defaults to the gateway's, else
        the current one.
        """
        if not requests:
            return []
        company = company or (gateway.company_id if gateway else None) or self.env.company
        for request in requests:
            if request.number is None and request.partner:
                partner = request.partner
                request.number = partner._sms_number()
            if request.thread is None:
                request.thread = request.partner or None
        if gateway:
            return self._send_on(requests, gateway, company)
        by_gateway = {}
        Gateway = self.env["sms.gateway"]
        for index, request in enumerate(requests):
            routed = Gateway._get_company_gateway(company, request.number)
            by_gateway.setdefault(routed, []).append(index)
        sent = [None] * len(requests)
        for routed, indexes in by_gateway.items():
            results = self._send_on([requests[i] for i in indexes], routed, company)
            for index, result in zip(indexes, results, strict=True):
                sent[index] = result
        return sent

    @api.model
    def _send_on(self, requests, gateway, company):
        """:meth:`_send` of ``requests`` through ``gateway`` (empty: Odoo's IAP)."""
        messages = self._log_messages(requests)
        items = [
            PolicyItem(
                kind=request.kind,
                partner=request.partner or self.env["res.partner"],
                number=request.number or "",
                sanitized=bool(
                    request.partner and request.number == request.partner.phone_sanitized
                ),
            )
            for request in requests
        ]
        verdicts = self._decide(
            company, items, timing=bool(gateway), gateway=gateway, legal_hold=not gateway
        )
        if gateway:
            return self._send_through_gateway(gateway, requests, messages, verdicts)
        return self._send_through_iap(requests, messages, verdicts, company)

    @api.model
    def _log_messages(self, requests):
        """One chatter log message per SMS on its thread (empty without a thread), in
        the order of ``requests``; one INSERT per model and author."""
        messages = [self.env["mail.message"].sudo()] * len(requests)
        # one message per SMS: a record twice in the batch goes in a second round
        rounds = []
        for index, request in enumerate(requests):
            if not request.thread:
                continue
            key = (request.thread._name, request.author_id)
            free = next((r for r in rounds if request.thread.id not in r.setdefault(key, {})), None)
            if free is None:
                free = {key: {}}
                rounds.append(free)
            free[key][request.thread.id] = index
        for batch in rounds:
            for (model, author_id), by_id in batch.items():
                if not by_id:
                    continue
                threads = self.env[model].browse(list(by_id))
                logged = threads._sms_journey_log_batch(
                    {res_id: requests[index].body for res_id, index in by_id.items()},
                    author_id=author_id,
                )
                for message, index in zip(logged, by_id.values(), strict=True):
                    messages[index] = message
        return messages

    @api.model
    def _send_through_gateway(self, gateway, requests, messages, verdicts):
        entries = [
            OutboxEntry(
                uuid=uuid4().hex,
                partner=request.partner or self.env["res.partner"],
                body=request.body,
                kind=request.kind,
                message=message,
                template=request.template or self.env["sms.template"],
                verdict=verdict,
                sender_id=request.sender_id,
                reply_link=request.reply_link,
            )
            for request, message, verdict in zip(requests, messages, verdicts, strict=True)
        ]
        outbox = self.env["sms.gateway.message"].sudo()._enqueue_logged(gateway, entries)
        return [
            SentSms(request, entry.uuid, entry.verdict, entry.message, row)
            for request, entry, row in zip(requests, entries, outbox, strict=True)
        ]

    @api.model
    def _send_through_iap(self, requests, messages, verdicts, company=None):
        """Odoo's way for companies on IAP: ``sms.sms`` rows with their chatter
        notifications; canceled ones are recorded canceled, the others sent. The rows
        are created for ``company`` (the current one by default): where Odoo chooses the
        provider per company (``sms_twilio``), they leave through that company's."""
        sms_records = (
            self.env["sms.sms"]
            .sudo()
            .with_company(company or self.env.company)
            .create(
                [
                    {
                        "body": request.body,
                        "partner_id": request.partner.id if request.partner else False,
                        "number": verdict.number,
                        "mail_message_id": message.id,
                        "sms_kind": request.kind,
                        "template_id": request.template.id if request.template else False,
                        "state": "canceled" if verdict.canceled else "outgoing",
                        "failure_type": verdict.failure_type if verdict.canceled else False,
                    }
                    for request, message, verdict in zip(requests, messages, verdicts, strict=True)
                ]
            )
        )
        # the chatter notification shows the SMS state; its tracker (keyed by the SMS
        # uuid) follows the delivery reports
        self.env["mail.notification"].sudo().create(
            [
                {
                    "author_id": message.author_id.id,
                    "mail_message_id": message.id,
                    "res_partner_id": sms.partner_id.id,
                    "sms_number": sms.number,
                    "notification_type": "sms",
                    "sms_id_int": sms.id,
                    "sms_tracker_ids": [Command.create({"sms_uuid": sms.uuid})],
                    "is_read": True,
                    "notification_status": "canceled" if verdict.canceled else "ready",
                    "failure_type": verdict.failure_type if verdict.canceled else False,
                    "failure_reason": verdict.reason if verdict.canceled else False,
                }
                for sms, message, verdict in zip(sms_records, messages, verdicts, strict=True)
                if message
            ]
        )
        sent = [
            SentSms(request, sms.uuid, verdict, message, self.env["sms.gateway.message"], sms)
            for request, message, verdict, sms in zip(
                requests, messages, verdicts, sms_records, strict=True
            )
        ]
        # held by a legal window: Odoo's queue sends them then (``sms.sms._send``)
        deferred = [
            (sms, verdict)
            for sms, verdict in zip(sms_records, verdicts, strict=True)
            if verdict.decision.action == policy.DEFER
        ]
        held = sms_records.browse([sms.id for sms, _verdict in deferred])
        held._sms_journey_hold([verdict for _sms, verdict in deferred])
        # no live chatter update: these messages were created in this transaction;
        # the policy was applied above
        (sms_records.filtered(lambda sms: sms.state == "outgoing") - held).with_context(
            sms_skip_msg_notification=True
        )._sms_journey_send_decided()
        return sent
