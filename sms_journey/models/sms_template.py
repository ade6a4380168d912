from odoo import api, models

from ..tools.review import LINK_PLACEHOLDER as REVIEW_PLACEHOLDER

# What ``{{ coupon_code }}`` renders to: a marker the journey SMS step replaces with
# each participant's own code after the one render of the batch (see
# ``sms.journey.participant._fill_coupons``). GSM-7 and about as long as a code (14
# characters), so that previews count the segments right.
COUPON_PLACEHOLDER = "[COUPON-CODE]"
# What ``{{ landing_url }}`` renders to: the journey SMS step puts its landing page's
# URL there before the links are shortened per trace (``_fill_landing_url``).
LANDING_PLACEHOLDER = "[LANDING-URL]"


class SmsTemplate(models.Model):
    _inherit = "sms.template"

    @api.model
    def _render_eval_context(self):
        """``coupon_code`` in SMS templates: a participant's single-use coupon code;
        ``landing_url``: the journey step's landing page (a page, a product, a
        promotion, a survey); ``review_url``: the review link of a review request."""
        render_context = super()._render_eval_context()
        render_context["coupon_code"] = COUPON_PLACEHOLDER
        render_context["landing_url"] = LANDING_PLACEHOLDER
        render_context["review_url"] = REVIEW_PLACEHOLDER
        return render_context
