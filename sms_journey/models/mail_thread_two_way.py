from odoo import models


class MailThread(models.AbstractModel):
    """Tag SMS sent from a template with it (see ``sms.sms.template_id``)."""

    _inherit = "mail.thread"

    def _message_sms_with_template(
        self,
        template=False,
        template_xmlid=False,
        template_fallback="",
        partner_ids=False,
        **kwargs,
    ):
        if not template and template_xmlid:
            template = self.env.ref(template_xmlid, raise_if_not_found=False)
        if template:
            self = self.with_context(sms_journey_template_id=template.id)
        return super()._message_sms_with_template(
            template=template,
            template_xmlid=template_xmlid,
            template_fallback=template_fallback,
            partner_ids=partner_ids,
            **kwargs,
        )
