import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class SmsSms(models.Model):
    """Route Odoo's SMS through the company's gateway.

    Every SMS feature of Odoo ends in ``send()`` → ``_send()`` (chatter, composer, mass
    mailing, server actions, the queue cron). For SMS of a company with an active
    ``sms.gateway``, ``_send`` does not call IAP: it applies the compliance rules and hands
    the messages to the outbox (``sms.gateway.message``), whose cron sends them with
    claims, retries and throughput limits. Without a gateway, Odoo's IAP path runs
    untouched.

    ``template_id`` remembers which SMS template an SMS was written from: keyword rules
    can be scoped to "replies to template X", so the template travels from the sender
    (composer, ``_message_sms_with_template``, rule replies) through the context key
    ``sms_journey_template_id`` to the SMS and then to its outbox row, which outlives
    the SMS itself.
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

    @api.model_create_multi
    def create(self, vals_list):
        context_kind = self.env.context.get("sms_kind")
        template_id = self.env.context.get("sms_journey_template_id")
        for vals in vals_list:
            if template_id:
                vals.setdefault("template_id", template_id)
            if "sms_kind" not in vals:
                vals["sms_kind"] = context_kind or (
                    "marketing" if vals.get("mailing_id") else "transactional"
                )
        return super().create(vals_list)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        gateway_model = self.env["sms.gateway"]
        if not gateway_model._is_used():
            return super()._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        by_gateway = {}
        iap_sms = self.browse()
        companies = self._sms_journey_companies()
        for sms in self:
            gateway = gateway_model._get_company_gateway(companies[sms.id])
            if gateway:
                by_gateway.setdefault(gateway, self.browse())
                by_gateway[gateway] |= sms
            else:
                iap_sms |= sms
        for gateway, sms_records in by_gateway.items():
            self.env["sms.gateway.message"].sudo()._enqueue_sms(gateway, sms_records)
        if iap_sms:
            return super(SmsSms, iap_sms)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        return None

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
