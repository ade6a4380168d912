from odoo import fields, models


class ResCompany(models.Model):
    """The deliverability settings: when a gateway's failures call a manager, and when a
    number's failures suppress it for marketing (``tools/deliverability.py``)."""

    _inherit = "res.company"

    sms_failure_alert_rate = fields.Float(
        "Failure rate alert (%)",
        default=10.0,
        help="SMS managers get an activity when a gateway's failed share over the last "
        "24 hours reaches this rate (once per gateway and day).",
    )
    sms_failure_alert_min_volume = fields.Integer(
        "Failure alert minimum volume",
        default=50,
        help="The alert needs at least this many SMS through the gateway in 24 hours.",
    )
    sms_suppress_after_failures = fields.Integer(
        "Suppress after permanent failures",
        default=3,
        help="A number whose deliveries fail permanently (unknown, landline, deactivated) "
        "this many times in a row gets no more marketing SMS (0: never).",
    )
