from odoo import api, models

# What ``{{ coupon_code }}`` renders to: a marker the journey SMS step replaces with
# each participant's own code after the one render of the batch (see
# ``sms.journey.participant._fill_coupons``). GSM-7 and about as long as a code (14
# characters), so that previews count the segments right.
COUPON_PLACEHOLDER = "[COUPON-CODE]"


class SmsTemplate(models.Model):
    _inherit = "sms.template"

    @api.model
    def _render_eval_context(self):
        """``coupon_code`` in SMS templates: a participant's single-use coupon code."""
        render_context = super()._render_eval_context()
        render_context["coupon_code"] = COUPON_PLACEHOLDER
        return render_context
