from odoo import fields, models

OPT_IN_ORIGINS = [
    ("signed_form", "Signed form"),
    ("phone_call", "Phone call"),
    ("in_person", "In person"),
    ("email", "E-mail"),
    ("other", "Other"),
]


class SmsConsentOptIn(models.TransientModel):
    """The proof staff give when they record an SMS opt-in: how the contact agreed and
    the details. It hands both to ``res.partner._sms_staff_opt_in``, which re-checks the
    user's rights and never lifts a STOP."""

    _name = "sms.consent.opt.in"
    _description = "Record an SMS opt-in with its proof"

    partner_ids = fields.Many2many("res.partner", string="Contacts", required=True)
    origin = fields.Selection(
        OPT_IN_ORIGINS, "How the contact agreed", required=True, default="signed_form"
    )
    proof = fields.Text(
        required=True,
        help="What the contact agreed to, when, and where the proof is kept (the form's "
        "number, the call's date…). Kept in the consent log.",
    )

    def action_record(self):
        self.ensure_one()
        origin = dict(self._fields["origin"]._description_selection(self.env))[self.origin]
        self.partner_ids._sms_staff_opt_in(origin, self.proof)
        return {"type": "ir.actions.act_window_close"}
