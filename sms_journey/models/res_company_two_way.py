from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    def _default_sms_courtesy_reply(self):
        # Plain text, not _(): this default fills the column while sms_journey's own
        # res.partner columns don't exist yet, and _() would read the user's language.
        return "Thank you for your message: we received it and will get back to you if needed."

    sms_courtesy_reply = fields.Char(
        "SMS courtesy reply",
        default=_default_sms_courtesy_reply,
        translate=True,
        help="Sent to a reply that no keyword rule understood, at most once a day per "
        "number. Empty: no courtesy reply.",
    )
