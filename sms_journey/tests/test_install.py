from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_company_gateway_defaults_to_iap(self):
        """Without a gateway the company keeps Odoo's IAP path."""
        company = self.env["res.company"].create({"name": "No gateway"})
        self.assertFalse(self.env["sms.gateway"]._get_company_gateway(company))
        gateway = self.env["sms.gateway"].create(
            {"name": "Sandbox", "code": "sandbox", "company_id": company.id}
        )
        company.sms_gateway_id = gateway
        self.assertEqual(self.env["sms.gateway"]._get_company_gateway(company), gateway)
