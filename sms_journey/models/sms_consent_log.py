from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .bulk_sql import add_filled_column
from .res_partner import CONSENT_SOURCES, CONSENT_STATES

# the company of the existing rows when the column comes (see ``_compute_company_id``)
FILL_COMPANY = SQL(
    """UPDATE sms_consent_log log
          SET company_id = CASE WHEN x.partner_id IS NOT NULL THEN p.company_id
                                ELSE i.company_id END
         FROM sms_consent_log x
    LEFT JOIN res_partner p ON p.id = x.partner_id
    LEFT JOIN sms_interaction i ON i.id = x.interaction_id
        WHERE x.id = log.id
          AND COALESCE(p.company_id, i.company_id) IS NOT NULL"""
)


class SmsConsentLog(models.Model):
    """Every change of SMS consent, with its proof: the audit trail regulators ask for.

    Append-only. Users only read it (no create in the access rights either); rows are
    written by the consent methods of ``res.partner`` (``_sms_consent_set``,
    ``_sms_consent_opt_out_number``…) under ``sudo()``. A row is never changed, not even by
    the superuser, and nobody deletes one through the interface or JSON-RPC (SMS managers
    and administrators included). Deleting a contact keeps its rows: the link is cleared
    (``ondelete='set null'``) and the number stays on each row.

    Its company is the contact's (none for a contact shared by all companies), or for a
    number without contact the company of the gateway the SMS came in on; fixed when the
    row is written, so it stays when the contact is deleted.
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
        "sms.interaction",
        "SMS received",
        ondelete="set null",
        readonly=True,
        index="btree_not_null",
    )
    company_id = fields.Many2one(
        "res.company",
        compute="_compute_company_id",
        store=True,
        precompute=True,
        index="btree_not_null",
        readonly=True,
    )

    def _auto_init(self):
        # the column of an existing log is filled in one UPDATE, not row by row
        add_filled_column(self, "company_id", "int4", FILL_COMPANY)
        return super()._auto_init()

    # not on the contact's company: a row keeps the company it was written for
    @api.depends("partner_id", "interaction_id")
    def _compute_company_id(self):
        for log in self:
            source = log.partner_id if log.partner_id else log.interaction_id
            log.company_id = source.sudo().company_id

    # append-only: no write ever reaches the rows, so there is no super() to call
    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(
            self.env._("The SMS consent log is append-only: its entries can't be changed.")
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_by_the_system(self):
        """Only the system deletes entries (data rights erasure and retention, as
        superuser); the module's uninstall drops the table."""
        if not self.env.su:
            raise UserError(
                self.env._("The SMS consent log is append-only: its entries can't be deleted.")
            )
