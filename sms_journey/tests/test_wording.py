"""Labels and units as a user reads them (issue 23, "Wording and missing doors")."""

from odoo.tests import tagged

from .common import JourneyCaseMixin, SmsJourneyCase, new_sms_user


def subtitles(node):
    """Every card subtitle of a ``get_flow`` answer."""
    if isinstance(node, dict):
        found = [node["subtitle"]] if "subtitle" in node else []
        for value in node.values():
            found += subtitles(value)
        return found
    if isinstance(node, list):
        return [subtitle for value in node for subtitle in subtitles(value)]
    return []


@tagged("post_install", "-at_install")
class TestWording(JourneyCaseMixin, SmsJourneyCase):
    def test_result_labels(self):
        journey_fields = self.env["sms.journey"].fields_get(
            ["running_count", "participant_count", "roas", "roi"], ["string"]
        )
        self.assertEqual(journey_fields["running_count"]["string"], "Running")
        self.assertEqual(journey_fields["participant_count"]["string"], "Participants")
        self.assertEqual(journey_fields["roas"]["string"], "ROAS")
        # ROI is a ratio shown as a percentage, ROAS a multiple: the forms say so
        for model in ("sms.journey", "mailing.mailing"):
            arch = self.env[model].get_view(view_type="form")["arch"]
            self.assertIn('name="roi" widget="percentage"', arch, model)
            self.assertIn("×", arch, model)

    def test_wait_in_the_flow_reads_as_a_sentence(self):
        journey = self.make_journey(
            [
                self.sms_step(wait=1, unit="days"),
                self.sms_step(wait=3, unit="days"),
                self.sms_step(wait=1, unit="hours"),
                self.sms_step(wait=2, unit="hours"),
            ]
        )
        self.assertEqual(
            [s for s in subtitles(journey.get_flow()) if s],
            ["after 1 day", "after 3 days", "after 1 hour", "after 2 hours"],
        )

    def test_preview_cost_has_its_currency(self):
        journey = self.make_journey([self.sms_step()])
        preview = self.env["sms.journey.preview"].create({"journey_id": journey.id})
        self.assertEqual(preview.currency_id, self.company.currency_id)
        arch = preview.get_view(view_type="form")["arch"]
        self.assertEqual(arch.count("'currency_field': 'currency_id'"), 2, "total and lines")

    def test_sms_templates_menu(self):
        menu = self.env.ref("sms_journey.sms_template_menu")
        self.assertEqual(menu.parent_id, self.env.ref("sms_journey.sms_journey_menu_configuration"))
        self.assertEqual(menu.action.res_model, "sms.template")
        manager = new_sms_user(
            self.env, "wording_manager", groups="sms_journey.group_sms_journey_manager"
        )
        visible = self.env["ir.ui.menu"].with_user(manager)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        self.assertTrue(self.env["sms.template"].with_user(manager).search_count([]))
        sms_user = new_sms_user(self.env, "wording_user")
        # an SMS user reads the templates (their journeys' steps show them) …
        self.assertTrue(self.env["sms.template"].with_user(sms_user).search_count([]))
        # … and the configuration menu stays the managers'
        self.assertNotIn(
            menu.parent_id.id, self.env["ir.ui.menu"].with_user(sms_user)._visible_menu_ids()
        )

    def test_no_reply_box_without_a_number(self):
        # the conversation widget shows its reason ("This contact has no mobile or
        # phone number…") where the reply box would be, when the server says no reply
        nobody = self.env["res.partner"].create({"name": "No number"})
        self.assertFalse(nobody.sms_conversation_read()["can_reply"])
        self.assertTrue(self.partner.sms_conversation_read()["can_reply"])
