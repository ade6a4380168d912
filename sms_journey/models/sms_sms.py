import logging
from contextlib import contextmanager
from contextvars import ContextVar

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import policy
from .sms_sender import PolicyItem

_logger = logging.getLogger(__name__)

# (kind, sms.template or None) of the SMS Odoo's paths are creating (see
# ``SmsSms._sms_journey_source``); a module-level variable of this thread, not a
# context key, so that no client can set it.
_SOURCE = ContextVar("sms_journey_sms_source", default=None)


class SmsSms(models.Model):
    """Route Odoo's SMS through the company's gateway.

    Every SMS feature of Odoo ends in ``send()`` → ``_send()`` (chatter, composer, mass
    mailing, server actions, the queue cron). For SMS of a company with an active
    ``sms.gateway``, ``_send`` does not call IAP: it hands the messages to the outbox
    (``sms.gateway.message``), which applies the sending policy and whose cron sends them
    with claims, retries and throughput limits. Without a gateway, the same policy cancels
    what it refuses (consent, opt-outs) and the rest goes through Odoo's IAP path.

    ``sms_kind`` and ``template_id`` are decided by the code that creates the SMS, never
    by a context a client sends: our senders pass them as values; Odoo's paths (the
    composer, ``_message_sms_with_template``, server actions) create their SMS inside
    :meth:`_sms_journey_source`, set by our overrides from the template or the composer.
    Otherwise an SMS of a mass mailing is marketing, any other transactional. Keyword
    rules can be scoped to "replies to template X": the template goes on to the SMS's
    outbox row, which outlives the SMS itself.
    """

    _inherit = "sms.sms"

    sms_kind = fields.Selection(
        [
            ("transactional", "Transactional"),
            ("marketing", "Marketing"),
            ("essential", "Essential"),
        ],
        string="Message type",
        default="transactional",
        help="Marketing SMS need consent and respect quiet hours and frequency caps. "
        "Transactional SMS skip those but respect an opt-out. Essential SMS (e.g. "
        "security codes) are sent even to opted-out numbers.",
    )
    template_id = fields.Many2one("sms.template", "SMS template", ondelete="set null")
    sms_journey_send_after = fields.Datetime(
        "Held until",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="A marketing SMS sent without a gateway of SMS Journeys (Odoo's IAP, Odoo's "
        "Twilio) that the legal send windows of its destination hold: it stays in the "
        "queue until then, and the queue's cron runs then.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        # Both set explicitly: a ``default_sms_kind`` / ``default_template_id`` in the
        # client's context must not decide them.
        kind, template = _SOURCE.get() or (None, None)
        for vals in vals_list:
            if not vals.get("template_id"):
                vals["template_id"] = template.id if template else False
            if not vals.get("sms_kind"):
                vals["sms_kind"] = kind or (
                    "marketing" if vals.get("mailing_id") else "transactional"
                )
        return super().create(vals_list)

    @api.model
    @contextmanager
    def _sms_journey_source(self, kind, template=None):
        """While inside, the SMS created without a kind are of ``kind`` and written
        from ``template`` (an sms.template, or None): how our overrides tell Odoo's
        composer and ``_message_sms`` paths what they send. Private: no RPC reaches it."""
        token = _SOURCE.set((kind, template or None))
        try:
            yield
        finally:
            _SOURCE.reset(token)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        gateway_used, _any_blacklisted = self.env["phone.blacklist"]._sms_journey_flags()
        iap_sms = self.browse()
        if gateway_used:
            # one query for what the outbox reads (the ORM would read 1,000 SMS a query)
            self.fetch(
                ["uuid", "number", "body", "partner_id", "mail_message_id", "sms_kind",
                 "template_id", "mailing_id"]
            )  # fmt: skip
            by_gateway = {}
            companies = self._sms_journey_companies()
            gateway_model = self.env["sms.gateway"]
            for sms in self:
                gateway = gateway_model._get_company_gateway(companies[sms.id], sms.number)
                if gateway:
                    by_gateway.setdefault(gateway, self.browse())
                    by_gateway[gateway] |= sms
                else:
                    iap_sms |= sms
            for gateway, sms_records in by_gateway.items():
                self.env["sms.gateway.message"].sudo()._enqueue_sms(gateway, sms_records)
        else:
            iap_sms = self
        now = fields.Datetime.now()
        # held by a legal window: in the queue until then (``_process_queue``)
        iap_sms = iap_sms.filtered(
            lambda sms: not sms.sms_journey_send_after or sms.sms_journey_send_after <= now
        )
        iap_sms = iap_sms._sms_journey_apply_policy()
        if iap_sms:
            return super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        return None

    def _process_queue(self, ids=None):
        # Odoo's queue cron picks at most 10,000 outgoing SMS, the newest first: the ones
        # a legal window still holds must not take the place of those due
        return super(SmsSms, self.with_context(sms_journey_due_only=True))._process_queue(ids)

    @api.model
    def _search(self, domain, *args, **kwargs):
        if self.env.context.get("sms_journey_due_only"):
            # only ever narrows the search: harmless whoever sets it
            domain = expression.AND([domain, self._sms_journey_due_domain()])
        return super()._search(domain, *args, **kwargs)

    @api.model
    def _sms_journey_due_domain(self):
        return [
            "|",
            ("sms_journey_send_after", "=", False),
            ("sms_journey_send_after", "<=", fields.Datetime.now()),
        ]

    def _sms_journey_hold(self, verdicts):
        """Keep these outgoing SMS in Odoo's queue until their verdict's time (a legal
        window defers them, ``policy.Rules.legal_hold``), and set the queue's cron to run
        at the first of them."""
        by_time = {}
        for sms, verdict in zip(self, verdicts, strict=True):
            by_time.setdefault(verdict.decision.due_at, self.browse())
            by_time[verdict.decision.due_at] |= sms
        for due_at, records in by_time.items():
            records.sudo().write({"sms_journey_send_after": due_at})
        if by_time:
            cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger(min(by_time))

    def _sms_journey_send_decided(self):
        """Send these outgoing SMS, whose policy verdicts their sender already applied
        (``sms.sender``'s IAP path), as Odoo's ``send`` does: in batches, through IAP,
        without asking the policy a second time."""
        for batch_ids in self._split_batch():
            super(SmsSms, self.browse(batch_ids))._send(unlink_failed=False, unlink_sent=True)
        return None

    def _sms_journey_set_state(self, state, failure_type=None):
        """Odoo's ``_update_sms_state_and_trackers`` for a batch of any size: one UPDATE
        and one tracker lookup (the ORM flushes 100 rows a statement and computes the
        trackers 1,000 SMS at a time)."""
        if not self:
            return
        self.flush_recordset(["state", "failure_type"])
        self.env.execute_query(
            SQL(
                """UPDATE sms_sms SET state = %s, failure_type = %s, write_uid = %s,
                          write_date = %s
                    WHERE id IN %s""",
                state,
                failure_type,
                self.env.uid,
                fields.Datetime.now(),
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(["state", "failure_type", "write_uid", "write_date"])
        self.env["sms.tracker"].sudo().search(
            [("sms_uuid", "in", self.mapped("uuid"))]
        )._action_update_from_sms_state(state, failure_type=failure_type)

    def _sms_journey_policy_items(self):
        """These SMS as the sending policy sees them (``sms.sender._decide``)."""
        return [
            PolicyItem(
                kind=sms.sms_kind or "transactional",
                partner=sms.partner_id,
                number=sms.number or "",
                # a mailing to mailing lists: the subscription is the list's consent
                list_consent=sms.sms_kind == "marketing"
                and bool(sms.mailing_id)
                and sms.mailing_id.mailing_model_real == "mailing.contact",
            )
            for sms in self
        ]

    def _sms_journey_apply_policy(self, legal_hold=True):
        """Odoo's IAP path: cancel what the sending policy refuses (each with its
        failure type and reason on the chatter), hold in the queue the marketing SMS a
        legal window defers (``legal_hold``); returns the SMS that may go now.

        Quiet hours and frequency caps need the outbox of a gateway; consent, opt-outs
        and the law hold on IAP too."""
        if not self:
            return self
        marketing = self.filtered(lambda sms: sms.sms_kind == "marketing")
        companies = marketing._sms_journey_companies() if marketing else {}
        by_company = {}
        for sms in self:
            company = companies.get(sms.id) or self.env.company
            by_company.setdefault(company, self.browse())
            by_company[company] |= sms
        sender = self.env["sms.sender"]
        canceled, held, held_verdicts = {}, self.browse(), []
        for company, records in by_company.items():
            verdicts = sender._decide(
                company, records._sms_journey_policy_items(), timing=False, legal_hold=legal_hold
            )
            for sms, verdict in zip(records, verdicts, strict=True):
                if verdict.canceled:
                    key = (verdict.failure_type, verdict.reason)
                    canceled[key] = canceled.get(key, self.browse()) | sms
                elif verdict.decision.action == policy.DEFER:
                    held |= sms
                    held_verdicts.append(verdict)
        held._sms_journey_hold(held_verdicts)
        refused = self.browse()
        for (failure_type, reason), records in canceled.items():
            records = records.sudo()
            records._update_sms_state_and_trackers("canceled", failure_type=failure_type)
            records.sms_tracker_id.mail_notification_id.write({"failure_reason": reason})
            refused |= records
        return self - refused - held

    @api.model
    def _sms_journey_cancel_refused_held(self, numbers, partners=None, companies=None):
        """Consent changed for ``numbers`` (E.164), ``partners`` or the rule of
        ``companies``: cancel at once the SMS Odoo's queue holds for a legal window that
        the policy now refuses (the outbox's are ``sms.gateway.message``'s)."""
        conditions = [[("number", "in", list(numbers))]] if numbers else []
        if partners:
            conditions.append([("partner_id", "in", partners.ids)])
        if companies:
            conditions.append([("sms_kind", "=", "marketing")])
        if not conditions:
            return self.browse()
        held = self.sudo().search(
            expression.AND(
                [
                    [("state", "=", "outgoing"), ("sms_journey_send_after", "!=", False)],
                    expression.OR(conditions),
                ]
            )
        )
        # consent only, as the outbox's: the clock is the queue's to judge
        return held - held._sms_journey_apply_policy(legal_hold=False)

    def _sms_journey_companies(self):
        """{sms id: company it is sent for}: the record it was posted on, else the
        mailing's, else the current one. Grouped by document model: no query per SMS."""
        companies = {}
        by_model = {}
        for sms in self:
            message = sms.mail_message_id
            if message.model and message.res_id and message.model in self.env:
                by_model.setdefault(message.model, {}).setdefault(message.res_id, []).append(sms)
        for model, by_res_id in by_model.items():
            records = self.env[model].sudo().browse(list(by_res_id)).exists()
            if "company_id" not in records._fields:
                continue
            for record in records:
                if record.company_id:
                    for sms in by_res_id[record.id]:
                        companies[sms.id] = record.company_id
        for sms in self:
            if sms.id in companies:
                continue
            mailing = sms.mailing_id
            companies[sms.id] = (
                mailing.sudo().user_id.company_id if mailing else False
            ) or self.env.company
        return companies
