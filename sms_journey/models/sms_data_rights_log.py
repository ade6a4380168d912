from odoo import fields, models


class SmsDataRightsLog(models.Model):
    """Who exported or erased a contact's SMS data, and when: the accountability record
    of GDPR requests (art. 5(2)). Written by ``sms.data.rights`` under ``sudo()``; SMS
    managers read it, nobody changes it. An export's zip is attached to its row, so that
    only those who can read the log can download it."""

    _name = "sms.data.rights.log"
    _description = "SMS data rights log"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", "Contact", index=True, ondelete="set null", readonly=True
    )
    kind = fields.Selection(
        [("export", "Export"), ("erase", "Erasure")], required=True, readonly=True
    )
    user_id = fields.Many2one("res.users", "Done by", required=True, readonly=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    summary = fields.Text(readonly=True, help="What was exported or erased, per kind of data.")
