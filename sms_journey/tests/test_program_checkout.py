from datetime import datetime

from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestProgramCheckoutTour(HttpCase):
    """The checkout's SMS consent box in a real browser: not pre-ticked, ticked by the
    visitor, and the order placed; the proof (text shown, page, time, IP) is then on
    the order and on the double opt-in question texted to the number typed."""

    def test_checkout_consent_tour(self):
        company = self.env.company
        company.write({"sms_consent_text": "Yes, text me offers. STOP to opt out."})
        website = self.env["website"].search([("company_id", "=", company.id)], limit=1)
        website.prevent_zero_price_sale = False
        product = self.env["product.product"].create(
            {
                "name": "Consent Mug",
                "list_price": 0.0,
                "is_published": True,
                "website_id": website.id,
                "taxes_id": [(5, 0, 0)],
            }
        )
        before = fields.Datetime.now().replace(microsecond=0)
        self.start_tour(product.website_url, "sms_journey_checkout_consent")
        after = fields.Datetime.now()

        order = self.env["sale.order"].search(
            [("order_line.product_id", "=", product.id)], order="id desc", limit=1
        )
        partner = order.partner_id
        self.assertEqual(partner.name, "Tina Tour")
        self.assertEqual(order.state, "sale", "the order was placed")
        self.assertTrue(order.sms_consent_given)
        # the box opts nobody in: the number typed is asked to confirm by SMS
        self.assertEqual(partner.sms_consent_state, "unknown")
        proof = order.sms_consent_proof
        request = self.env["sms.consent.request"].search([("partner_id", "=", partner.id)])
        self.assertEqual((request.source, request.state), ("checkout", "pending"))
        self.assertTrue(request.proof.startswith(proof))
        lines = dict(line.split(": ", 1) for line in proof.splitlines())
        self.assertEqual(lines["Text shown"], "Yes, text me offers. STOP to opt out.")
        self.assertIn("/shop/address", lines["Page"])
        self.assertEqual(lines["IP"], "127.0.0.1")
        moment = datetime.strptime(lines["Time (UTC)"], "%Y-%m-%d %H:%M:%S")
        self.assertTrue(before <= moment <= after, moment)
        self.assertTrue(lines["User agent"])
