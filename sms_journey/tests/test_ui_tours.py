from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUiTours(HttpCase):
    """Backend screens in a real browser (headless Chromium)."""

    def test_journey_form(self):
        self.start_tour("/odoo", "sms_journey_journey_form", login="admin")

    def test_template_body_counter(self):
        self.start_tour("/odoo", "sms_journey_body_counter", login="admin")

    def test_flow_builds_a_two_branch_journey(self):
        self.start_tour("/odoo", "sms_journey_flow_build", login="admin")
        journey = self.env["sms.journey"].search([("name", "=", "Flow tour journey")])
        self.assertEqual(journey.state, "running")
        branch = journey.step_ids.filtered(lambda s: s.action == "branch")
        self.assertEqual(len(branch), 1)
        self.assertEqual(
            sorted(branch.child_ids.mapped("branch_side")), ["no", "yes"], "one step per path"
        )
        self.assertEqual(
            journey.step_ids.filtered(lambda s: not s.parent_id).sorted().mapped("action"),
            ["sms", "branch"],
        )
