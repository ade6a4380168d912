from datetime import timedelta

from odoo import api, fields, models
from odoo.tools.translate import LazyTranslate

from ..tools import attribution

_lt = LazyTranslate(__name__)

# The shipped texts of the translatable settings below. A company that keeps one gets it
# in each reader's language (see ``_sms_shipped_text``); once edited, the company's own
# text (and its translations, if any) is used.
DEFAULT_COURTESY_REPLY = _lt(
    "Thank you for your message: we received it and will get back to you if needed."
)
DEFAULT_CONSENT_TEXT = _lt(
    "I agree to receive offers and news by SMS. Reply STOP to opt out at any time. "
    "Msg & data rates may apply."
)


class ResCompany(models.Model):
    """Per-company SMS settings: the gateway, the compliance rules, the courtesy reply,
    the attribution windows and the thresholds of the customer facts kept on partners
    (see ``res_partner``)."""

    _inherit = "res.company"

    def _default_sms_courtesy_reply(self):
        # The English source, not the user's language: this default fills the column at
        # install (while sms_journey's own res.partner columns don't exist yet); readers
        # get it translated through ``_sms_courtesy_reply``.
        return DEFAULT_COURTESY_REPLY._translate("en_US")

    sms_gateway_id = fields.Many2one(
        "sms.gateway",
        string="SMS Gateway",
        help="Every SMS of this company goes through this gateway, but those to the "
        "countries it routes to other gateways. Empty: Odoo's IAP SMS service.",
    )
    sms_gateway_route_ids = fields.One2many(
        "sms.gateway.route",
        "company_id",
        string="SMS routing by country",
        groups="sms_journey.group_sms_journey_manager",
        help="SMS to these destination countries go through another gateway than the " "company's.",
    )
    sms_send_window_start = fields.Float(
        "Send marketing SMS from",
        default=8.0,
        help="Marketing SMS are sent only from this hour (recipient's local time).",
    )
    sms_send_window_end = fields.Float(
        "Send marketing SMS until",
        default=21.0,
        help="Marketing SMS are not sent from this hour on (recipient's local time).",
    )
    sms_frequency_cap = fields.Integer(
        "Marketing SMS per contact",
        default=1,
        help="At most this many marketing SMS per contact within the cap window. "
        "0 disables the cap.",
    )
    sms_frequency_cap_hours = fields.Integer("Cap window (hours)", default=24)
    sms_frequency_cap_policy = fields.Selection(
        [("defer", "Defer until allowed"), ("skip", "Skip the message")],
        "Over the cap",
        default="defer",
        required=True,
    )
    sms_marketing_consent = fields.Selection(
        [
            ("opt_in", "Explicit opt-in (GDPR)"),
            ("opt_out", "Unless opted out"),
        ],
        "Marketing SMS consent",
        default="opt_in",
        required=True,
        help="Explicit opt-in: marketing SMS reach only contacts who opted in (or "
        "subscribers of the mailing list they are sent to). Unless opted out: Odoo's "
        "standard behaviour, marketing SMS reach every contact who did not opt out. "
        "Opt-outs (STOP, marketing opt-out) hold in both, on every transport.",
    )
    sms_brand_name = fields.Char(
        "SMS brand name", help="Named in HELP answers and opt-out confirmations."
    )
    sms_support_contact = fields.Char(
        "SMS support contact",
        help="Phone, e-mail or URL given in HELP answers.",
    )
    sms_courtesy_reply = fields.Char(
        "SMS courtesy reply",
        default=_default_sms_courtesy_reply,
        translate=True,
        help="Sent to a reply that no keyword rule understood, at most once a day per "
        "number. Empty: no courtesy reply.",
    )
    sms_reply_reminder_hours = fields.Float(
        "Remind unanswered replies after (working hours)",
        default=0.0,
        help="A reply still unread after this many working hours of the company's "
        "calendar gets an activity for the contact's salesperson. 0: no reminder.",
    )
    sms_inactivity_days = fields.Integer(
        "Inactive after (days)",
        default=90,
        help="A customer without order, SMS reply or click for this many days is inactive.",
    )
    sms_loyalty_window_days = fields.Integer(
        "Loyalty window (days)",
        default=365,
        help="A repeat order within this many days of the previous one makes a loyal customer.",
    )
    sms_order_gap_prior_days = fields.Float(
        "Typical days between orders",
        readonly=True,
        help="The median rhythm of the company's customers: the prior of a customer with "
        "a single order whose category has none (res_partner_rhythm.py).",
    )

    # What counts as activity besides orders, SMS replies and clicks (res.partner's
    # last_interaction_date, hence inactivity and stages), per company.
    sms_activity_website_visits = fields.Boolean(
        "Website visits count as activity",
        default=True,
        help="A signed-in customer's visit of the website (website visitor tracking) "
        "moves their last interaction, so they are not inactive.",
    )
    sms_activity_email_engagement = fields.Boolean(
        "E-mail opens and clicks count as activity",
        default=True,
        help="Opening, clicking or answering a mass mailing e-mail moves the contact's "
        "last interaction, so they are not inactive.",
    )

    # Reviews: satisfied answers get the review request with this link.
    sms_review_url = fields.Char(
        "Review link",
        help="Where satisfied customers write a review (Google, Trustpilot…), sent in the "
        "review request SMS; a survey question or reply rule can name its own.",
    )
    sms_review_template_id = fields.Many2one(
        "sms.template",
        "Review request SMS",
        domain="[('model', '=', 'res.partner')]",
        help="Its {{ review_url }} becomes the review link. Empty: the shipped template.",
    )

    sms_attribution_click_days = fields.Integer(
        "Click window (days)",
        default=5,
        help="An order placed within this many days of a click on an SMS link is "
        "attributed to that SMS (journey step or mailing).",
    )
    sms_attribution_delivery_hours = fields.Integer(
        "Delivery window (hours)",
        default=12,
        help="Without a click, an order placed within this many hours of the delivery of "
        "an SMS is attributed to it. A click always beats a delivery; the last touch wins.",
    )

    def _sms_shipped_text(self, fname, shipped):
        """The value of the translatable text setting ``fname`` in the environment's
        language: the company's own text (or its translation), or, while the company
        keeps the shipped English text ``shipped`` (an ``_lt``), that text's translation
        from the module's .po files."""
        self.ensure_one()
        text = self[fname]
        if text and text == shipped._translate("en_US"):
            return self.env._(shipped)
        return text

    def _sms_courtesy_reply(self):
        """The courtesy reply in the environment's language (empty: none)."""
        return self._sms_shipped_text("sms_courtesy_reply", DEFAULT_COURTESY_REPLY)

    def _sms_consent_text(self):
        """The SMS consent checkbox text in the environment's language."""
        return self._sms_shipped_text("sms_consent_text", DEFAULT_CONSENT_TEXT)

    def _sms_attribution_windows(self):
        """The attribution windows of this company (``tools/attribution.Windows``)."""
        self.ensure_one()
        return attribution.Windows(
            click=timedelta(days=self.sms_attribution_click_days),
            delivery=timedelta(hours=self.sms_attribution_delivery_hours),
        )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("sms_gateway_id") for vals in vals_list):
            self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if "sms_gateway_id" in vals:
            self.env.registry.clear_cache()
        switched_on = any(
            vals.get(fname) and not all(self.mapped(fname))
            for fname in ("sms_activity_website_visits", "sms_activity_email_engagement")
        )
        result = super().write(vals)
        if "sms_marketing_consent" in vals:
            self.env["sms.gateway.message"]._cancel_refused_for_companies(self)
        if switched_on:
            # the visits and e-mails of the past count from now on: the backfill job
            # walks every contact again (at once on a small database)
            self.env["res.partner"].sudo()._sms_facts_backfill_start()
        return result

    # --- consent at first contact (checkout, sign-up, website forms) -------------------

    def _default_sms_consent_text(self):
        # The English source: see _default_sms_courtesy_reply.
        return DEFAULT_CONSENT_TEXT._translate("en_US")

    sms_consent_text = fields.Char(
        "SMS consent checkbox text",
        default=_default_sms_consent_text,
        translate=True,
        help="Shown next to the SMS consent checkbox at checkout, sign-up and on website "
        "forms; recorded word for word as the proof of the consent given.",
    )
