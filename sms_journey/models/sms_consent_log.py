from odoo import _, fields, models
from odoo.exceptions import UserError

from .res_partner import CONSENT_SOURCES, CONSENT_STATES


class SmsConsentLog(models.Model):
    """Every change of SMS consent, with its proof: the audit trail regulators ask for.

    Append-only. Users only read it (no create in the access rights either); rows are
    written by the consent methods of ``res.partner`` (``_sms_consent_set``,
    ``_sms_consent_opt_out_number``…) under ``sudo()``. A row is never changed, not even by
    the superuser, and nobody deletes one through the interface or JSON-RPC (SMS managers
    and administrators included). Deleting a contact keeps its rows: the link is cleared
    (``ondelete='set null'``) and the number stays on each row.
    """

    _name = "sms.consent.log"
    _description = "SMS Consent Log"
    _order = "create_date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", index=True, ondelete="set null", readonly=True)
    number = fields.Char(readonly=True, index=True)
    action = fields.Selection(CONSENT_STATES, required=True, readonly=True)
    scope = fields.Selection(
        [("marketing", "Marketing SMS"), ("all", "All SMS")],
        help="Marketing: marketing consent only (transactional SMS still go). All: a STOP "
        "or a re-subscription, which also moves the number in or out of the blacklist.",
        readonly=True,
    )
    source = fields.Selection(CONSENT_SOURCES, required=True, readonly=True)
    proof = fields.Text(readonly=True)
    user_id = fields.Many2one(
        "res.users", "Recorded by", default=lambda self: self.env.user, readonly=True
    )
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    interaction_id = fields.Many2one(
        "sms.interaction", "SMS received", ondelete="set null", readonly=True
    )

    def write(self, vals):
        raise UserError(_("The SMS consent log is append-only: its entries can't be changed."))

    def unlink(self):
        if not self.env.su:
            raise UserError(_("The SMS consent log is append-only: its entries can't be deleted."))
        return super().unlink()
