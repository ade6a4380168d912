"""What the bridge's tests share: the current company on Odoo's Twilio (sms_twilio's own
test account and numbers, ``MockSmsTwilioApi``), with no gateway of ours, and its
customers."""

from odoo.addons.sms_twilio.tests.common import MockSmsTwilioApi


class OdooTwilioCompanyMixin(MockSmsTwilioApi):
    """The current company sends through Odoo's Twilio; combine with TransactionCase or
    HttpCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.sms_gateway_id = False
        cls._setup_sms_twilio(cls.company)

    @classmethod
    def _customer(cls, name, mobile, country):
        """A contact of ``country`` (a base country's xmlid, e.g. "base.be")."""
        return cls.env["res.partner"].create(
            {"name": name, "mobile": mobile, "country_id": cls.env.ref(country).id}
        )
