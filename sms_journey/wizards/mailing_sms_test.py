from markupsafe import Markup

from odoo import models


class MailingSmsTest(models.TransientModel):
    """Mass mailing's "Test" button calls IAP directly (not ``sms.sms._send``), past the
    sending policy. Ours sends the test as what it is, a marketing SMS, through the
    policy: to the company's gateway when it has one, else through ``sms.sms._send``
    (which cancels what the policy refuses) to IAP."""

    _inherit = "mailing.sms.test"

    def action_send_sms(self):
        self.ensure_one()
        gateway = self.env["sms.gateway"]._get_company_gateway()
        numbers = [number.strip() for number in self.numbers.splitlines() if number.strip()]
        sanitized = [self.env.user._phone_format(number=number) for number in numbers]
        invalid = [number for clean, number in zip(sanitized, numbers, strict=True) if not clean]
        body = self.mailing_id.body_plaintext or ""
        model = self.mailing_id.mailing_model_real
        record = self.env[model].search([], limit=1)
        if record:
            body = self.env["mail.render.mixin"]._render_template(body, model, record.ids)[
                record.id
            ]
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                [
                    {"body": body, "number": number, "sms_kind": "marketing"}
                    for number in sanitized
                    if number
                ]
            )
        )
        lines = []
        if invalid:
            lines.append(
                self.env._(
                    "The following numbers are not correctly encoded: %s", ", ".join(invalid)
                )
            )
        if gateway:
            lines += self._sms_journey_send_through_gateway(gateway, sms)
        else:
            lines += self._sms_journey_send_through_iap(sms)
        if lines:
            body_html = Markup("<ul>%s</ul>") % Markup("").join(
                Markup("<li>%s</li>") % line for line in lines
            )
            self.mailing_id._message_log(body=body_html)
        return True

    def _sms_journey_send_through_iap(self, sms):
        """Send the test SMS as Odoo's queue does (the policy cancels what it refuses);
        one line per number for the mailing's chatter."""
        sms._send(unlink_failed=False, unlink_sent=True, raise_exception=False)
        failure_labels = dict(sms._fields["failure_type"]._description_selection(self.env))
        return self._sms_journey_result_lines(
            (
                record.number,
                record.state in ("pending", "sent"),
                failure_labels.get(record.failure_type) or record.state,
            )
            for record in sms
        )

    def _sms_journey_send_through_gateway(self, gateway, sms):
        """Send the test SMS through the outbox at once; one line per number."""
        messages = self.env["sms.gateway.message"].sudo()._enqueue_sms(gateway, sms)
        messages.filtered(lambda m: m.state == "queued")._send_now()
        return self._sms_journey_result_lines(
            (
                message.number,
                message.state in ("sent", "delivered"),
                message.failure_reason or message.state,
            )
            for message in messages
        )

    def _sms_journey_result_lines(self, outcomes):
        """One line for the mailing's chatter per (number, sent, why not) of the test."""
        return [
            self.env._("Test SMS successfully sent to %s", number)
            if sent
            else self.env._(
                "Test SMS could not be sent to %(destination)s: %(state)s",
                destination=number,
                state=reason,
            )
            for number, sent, reason in outcomes
        ]
