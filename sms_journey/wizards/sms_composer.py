from odoo import api, fields, models
from odoo.exceptions import AccessError

SMS_KINDS = [
    ("marketing", "Marketing"),
    ("transactional", "Transactional"),
    ("essential", "Essential"),
]


class SmsComposer(models.TransientModel):
    """Odoo's SMS composer says what kind of SMS it sends.

    Kinds come from the source and fail safe: a template's text is of the template's kind;
    free text to many contacts is marketing, a one-to-one message from a chatter
    transactional. Only SMS managers may choose another kind (``sms_kind`` is theirs:
    for anyone else it is neither shown nor read). The kind and the template reach the
    ``sms.sms`` through ``sms.sms._sms_journey_source``, never through the context, and
    the sending policy applies to them on every transport.
    """

    _inherit = "sms.composer"

    sms_kind = fields.Selection(
        SMS_KINDS,
        string="Message type",
        compute="_compute_sms_kind",
        store=True,
        readonly=False,
        groups="sms_journey.group_sms_journey_manager",
        help="Marketing SMS need the contact's consent and respect quiet hours and "
        "frequency caps. Transactional SMS (orders, appointments, answers) only respect "
        "opt-outs (STOP). Essential SMS (security codes) reach even opted-out numbers.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if any("sms_kind" in vals for vals in vals_list):
            self._sms_journey_check_kind_choice()
        return super().create(vals_list)

    def write(self, vals):
        if "sms_kind" in vals:
            self._sms_journey_check_kind_choice()
        return super().write(vals)

    def _sms_journey_check_kind_choice(self):
        if not self.env.su and not self.env.user.has_group("sms_journey.group_sms_journey_manager"):
            raise AccessError(self.env._("Only SMS managers can choose the type of an SMS."))

    @api.depends("composition_mode", "template_id")
    def _compute_sms_kind(self):
        for composer in self:
            composer.sms_kind = composer._sms_journey_source_kind()

    def _sms_journey_source_kind(self):
        """The kind of what this composer sends when no SMS manager chose one: the
        template's while its text goes as the template wrote it (in mass mode the body
        is the template's unrendered text; one record's is rendered, and stays the
        template's), else marketing for free text to many, transactional to one."""
        self.ensure_one()
        template = self.template_id.sudo()
        mass = self.composition_mode == "mass"
        if template and (not mass or self.body == template.body):
            return template.sms_kind
        return "marketing" if mass else "transactional"

    def _action_send_sms(self):
        self.ensure_one()
        # too long for the gateway: refused with the reason before anything is queued
        # (the body in mass mode is the template's text; one record's is rendered)
        self.env["sms.gateway"]._check_sms_length(self.body)
        kind = self._sms_journey_source_kind()
        if self.env.user.has_group("sms_journey.group_sms_journey_manager"):
            kind = self.sudo().sms_kind or kind
        with self.env["sms.sms"]._sms_journey_source(kind, self.template_id or None):
            return super()._action_send_sms()
