from odoo.tests import TransactionCase, tagged

from .common import new_other_company_user


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

    def test_messages_are_company_scoped(self):
        """Users of another company see neither the gateways nor the SMS of this one."""
        gateway = self.env["sms.gateway"].create({"name": "Main", "code": "sandbox"})
        message = self.env["sms.gateway.message"].create(
            {"sms_uuid": "f" * 32, "gateway_id": gateway.id, "number": "+393331234567"}
        )
        user = new_other_company_user(
            self.env,
            "sms_other_company",
            groups="base.group_user,sms_journey.group_sms_journey_user",
        )
        self.assertFalse(self.env["sms.gateway"].with_user(user).search([("id", "=", gateway.id)]))
        self.assertFalse(
            self.env["sms.gateway.message"].with_user(user).search([("id", "=", message.id)])
        )
        self.assertTrue(self.env["sms.gateway.message"].search([("id", "=", message.id)]))
