from odoo import _, api, fields, models
from odoo.exceptions import UserError

SMS_KINDS = [
    ("marketing", "Marketing"),
    ("transactional", "Transactional"),
    ("essential", "Essential"),
]


class SmsComposer(models.TransientModel):
    """Odoo's SMS composer says what kind of SMS it sends.

    Kinds fail safe: a message to many contacts is marketing unless the sender chooses
    otherwise (transactional, or essential for SMS managers); a one-to-one message from a
    chatter is transactional. The kind travels to ``sms.sms`` through the context and the
    sending policy applies to it on every transport. The template travels the same way
    (see ``sms.sms.template_id``).
    """

    _inherit = "sms.composer"

    sms_kind = fields.Selection(
        SMS_KINDS,
        string="Message type",
        compute="_compute_sms_kind",
        store=True,
        readonly=False,
        help="Marketing SMS need the contact's consent and respect quiet hours and "
        "frequency caps. Transactional SMS (orders, appointments, answers) only respect "
        "opt-outs (STOP). Essential SMS (security codes) reach even opted-out numbers: "
        "SMS managers only.",
    )

    @api.depends("composition_mode")
    def _compute_sms_kind(self):
        for composer in self:
            mass = composer.composition_mode == "mass"
            composer.sms_kind = "marketing" if mass else "transactional"

    def _action_send_sms(self):
        mass = self.composition_mode == "mass"
        kind = self.sms_kind or ("marketing" if mass else "transactional")
        if kind == "essential" and not self.env.user.has_group(
            "sms_journey.group_sms_journey_manager"
        ):
            raise UserError(_("Only SMS managers can send essential SMS."))
        composer = self.with_context(sms_kind=kind)
        if self.template_id:
            composer = composer.with_context(sms_journey_template_id=self.template_id.id)
        return super(SmsComposer, composer)._action_send_sms()
