from markupsafe import Markup

from odoo import _, models


class MailingSmsTest(models.TransientModel):
    """Mass mailing's "Test" button calls IAP directly (not ``sms.sms._send``): send the
    test through the company's gateway when it has one."""

    _inherit = "mailing.sms.test"

    def action_send_sms(self):
        self.ensure_one()
        gateway = self.env["sms.gateway"]._get_company_gateway()
        if not gateway:
            return super().action_send_sms()
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
            .create([{"body": body, "number": number} for number in sanitized if number])
        )
        messages = self.env["sms.gateway.message"].sudo()._enqueue_sms(gateway, sms)
        messages.filtered(lambda m: m.state == "queued")._send_now()
        lines = []
        if invalid:
            lines.append(
                _("The following numbers are not correctly encoded: %s", ", ".join(invalid))
            )
        for message in messages:
            if message.state in ("sent", "delivered"):
                lines.append(_("Test SMS successfully sent to %s", message.number))
            else:
                lines.append(
                    _(
                        "Test SMS could not be sent to %(destination)s: %(state)s",
                        destination=message.number,
                        state=message.failure_reason or message.state,
                    )
                )
        if lines:
            body_html = Markup("<ul>%s</ul>") % Markup("").join(
                Markup("<li>%s</li>") % line for line in lines
            )
            self.mailing_id._message_log(body=body_html)
        return True
