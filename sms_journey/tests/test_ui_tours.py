from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUiTours(HttpCase):
    """Backend screens in a real browser (headless Chromium)."""

    def test_journey_form(self):
        self.start_tour("/odoo", "sms_journey_journey_form", login="admin")

    def test_template_body_counter(self):
        self.start_tour("/odoo", "sms_journey_body_counter", login="admin")
