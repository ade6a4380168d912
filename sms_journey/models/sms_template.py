from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL
from odoo.tools.sql import column_exists

from ..tools import sms_limits
from ..tools.review import LINK_PLACEHOLDER as REVIEW_PLACEHOLDER

# What ``{{ coupon_code }}`` renders to: a marker the journey SMS step replaces with
# each participant's own code after the one render of the batch (see
# ``sms.journey.participant._fill_coupons``). GSM-7 and about as long as a code (14
# characters), so that previews count the segments right.
COUPON_PLACEHOLDER = "[COUPON-CODE]"
# What ``{{ landing_url }}`` renders to: the journey SMS step puts its landing page's
# URL there before the links are shortened per trace (``_fill_landing_url``).
LANDING_PLACEHOLDER = "[LANDING-URL]"
# What ``{{ product }}`` renders to: the journey SMS step puts the name of the
# participant's product there (browse abandonment, price drop: ``_fill_products``).
PRODUCT_PLACEHOLDER = "[PRODUCT-NAME]"


class SmsTemplate(models.Model):
    """SMS templates say what kind of SMS they write.

    Everything that sends from a template sends the template's kind: the chatter's
    ``_message_sms_with_template``, the composer, server actions, review requests. A
    template someone writes is marketing unless they say otherwise (fail safe: consent
    applies); a template a module ships in its data (a calendar reminder, a delivery
    notice) is one of its notifications: transactional unless its data says otherwise.

    A template is no longer than the company's gateway takes, and one longer than
    ``tools/sms_limits.py`` ``LONG_TEXT_SEGMENTS`` segments (each billed, for every
    recipient) is saved only once someone ticks "Long text confirmed".
    """

    _inherit = "sms.template"

    sms_kind = fields.Selection(
        [
            ("marketing", "Marketing"),
            ("transactional", "Transactional"),
            ("essential", "Essential"),
        ],
        string="Message type",
        default="marketing",
        required=True,
        help="The kind of the SMS sent from this template. Marketing SMS need the "
        "contact's consent and respect quiet hours and frequency caps; transactional SMS "
        "(orders, appointments) only respect opt-outs (STOP); essential SMS (security "
        "codes) reach even opted-out numbers.",
    )

    long_text = fields.Boolean(
        compute="_compute_long_text",
        help="More segments than a template may have without a confirmation.",
    )
    long_text_confirmed = fields.Boolean(
        "Long text confirmed",
        copy=False,
        help="This text takes more than 10 SMS segments, each billed for every recipient: "
        "tick to confirm it is meant.",
    )

    @api.depends("body")
    def _compute_long_text(self):
        for template in self:
            template.long_text = sms_limits.needs_long_text_confirmation(template.body)

    @api.constrains("body", "long_text_confirmed")
    def _check_body_length(self):
        gateways = self.env["sms.gateway"]
        for template in self:
            gateways._check_sms_length(template.body)
            if template.long_text and not template.long_text_confirmed:
                raise ValidationError(
                    self.env._(
                        "The template “%(name)s” takes more than %(segments)s SMS segments, "
                        "each billed for every recipient: shorten it, or tick “Long text "
                        "confirmed” on the template.",
                        name=template.name,
                        segments=sms_limits.LONG_TEXT_SEGMENTS,
                    )
                )

    def _auto_init(self):
        # On install, the templates modules shipped before us are their notifications
        new_column = not column_exists(self.env.cr, self._table, "sms_kind")
        result = super()._auto_init()
        if new_column:
            self.env.cr.execute(
                SQL(
                    """UPDATE sms_template t SET sms_kind = 'transactional'
                        WHERE EXISTS (SELECT 1 FROM ir_model_data d
                                       WHERE d.model = 'sms.template' AND d.res_id = t.id
                                         AND d.module NOT LIKE %s)""",
                    r"\_\_%",
                )
            )
        return result

    def _load_records(self, data_list, update=False, ignore_duplicates=False):
        # a template a module's data creates without a kind is one of its notifications
        # (imports have no module of their own: ``__import__``, ``__export__``)
        imd = self.env["ir.model.data"]
        for data in data_list:
            xml_id = data.get("xml_id") or ""
            values = data.get("values", {})
            if (
                "." in xml_id
                and not xml_id.startswith("__")
                and "sms_kind" not in values
                and not imd._xmlid_to_res_id(xml_id, raise_if_not_found=False)
            ):
                data["values"] = dict(values, sms_kind="transactional")
        return super()._load_records(data_list, update=update, ignore_duplicates=ignore_duplicates)

    @api.model
    def _render_eval_context(self):
        """``coupon_code`` in SMS templates: a participant's single-use coupon code;
        ``landing_url``: the journey step's landing page (a page, a product, a
        promotion, a survey); ``product``: the name of the participant's product (a
        behaviour trigger's); ``review_url``: the review link of a review request."""
        render_context = super()._render_eval_context()
        render_context["coupon_code"] = COUPON_PLACEHOLDER
        render_context["landing_url"] = LANDING_PLACEHOLDER
        render_context["product"] = PRODUCT_PLACEHOLDER
        render_context["review_url"] = REVIEW_PLACEHOLDER
        return render_context
