from odoo import models


class SmsComposer(models.TransientModel):
    """Tag SMS sent from a template with it (see ``sms.sms.template_id``)."""

    _inherit = "sms.composer"

    def _action_send_sms(self):
        if self.template_id:
            self = self.with_context(sms_journey_template_id=self.template_id.id)
        return super()._action_send_sms()
