"""Labels and units as a user reads them (issue 23, "Wording and missing doors")."""

from lxml import etree

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
            ["running_count", "participant_count", "roas_label", "roi_label"], ["string"]
        )
        self.assertEqual(journey_fields["running_count"]["string"], "Running")
        self.assertEqual(journey_fields["participant_count"]["string"], "Participants")
        self.assertEqual(journey_fields["roas_label"]["string"], "ROAS")
        self.assertEqual(journey_fields["roi_label"]["string"], "ROI")
        # ROI is a ratio shown as a percentage, ROAS a multiple: the forms show them so
        for model in ("sms.journey", "mailing.mailing"):
            arch = self.env[model].get_view(view_type="form")["arch"]
            self.assertIn('name="roas_label"', arch, model)
            self.assertIn('name="roi_label"', arch, model)
            self.assertNotIn('name="roi"', arch, model)

    def test_ratios_read_as_multiple_and_percentage(self):
        journey = self.make_journey([self.sms_step()])
        cases = [
            # (revenue, cost): (ROAS, ROI) as the form shows them
            ((3200.0, 100.0), ("32×", "3,100 %")),
            ((250.0, 100.0), ("2.5×", "150 %")),
            # nothing spent (or less than a cent): no ratio, not "0%"
            ((48.0, 0.0), ("—", "—")),
            ((48.0, 0.001), ("—", "—")),
            # the demo: one SMS at 0.0075 brought a 48.00 order (639,900 %)
            ((48.0, 0.0075), ("> 1,000×", "> 99,900 %")),
        ]
        for (revenue, cost), expected in cases:
            with self.subTest(revenue=revenue, cost=cost):
                journey.invalidate_recordset(["roas_label", "roi_label"])
                journey.revenue, journey.cost = revenue, cost
                journey._compute_ratio_labels()
                self.assertEqual((journey.roas_label, journey.roi_label), expected)

    def test_money_shows_its_currency(self):
        """Every amount our forms and lists show comes with its currency (a bare
        "70.84" in EUR is not read as money)."""
        views = self.env["ir.ui.view"].search(
            [("type", "in", ("form", "list")), ("mode", "=", "primary")]
        )
        ours = views.filtered(lambda v: v.xml_id.startswith("sms_journey."))
        self.assertTrue(ours)
        for view in ours:
            model = self.env[view.model]
            arch = etree.fromstring(model.get_view(view.id)["arch"])
            for node in arch.iter("field"):
                found = self._monetary_without_currency(model, node)
                self.assertFalse(found, f"{view.xml_id}: {found} without its currency")
        journey_fields = self.env["sms.journey"]._fields
        for name in ("treated_revenue_per_head", "control_revenue_per_head"):
            self.assertEqual(journey_fields[name].type, "monetary", name)

    def _monetary_without_currency(self, model, node):
        """The monetary field of ``node`` if its currency field is not among the fields
        of the same (sub)view, else ``None``."""
        # a field inside a one2many's inline list belongs to the comodel
        for parent in reversed(list(node.iterancestors("field"))):
            model = self.env[model._fields[parent.get("name")].comodel_name]
        field = model._fields.get(node.get("name"))
        if not field or field.type != "monetary" or node.get("widget") not in (None, "monetary"):
            return None
        currency = field.get_currency_field(model)
        options = node.get("options") or ""
        if "currency_field" in options:
            currency = options.split("currency_field")[1].split("'")[2]
        # the fields of the (sub)view this node is in: its nearest list/form ancestor
        scope = next(node.iterancestors("list", "form", "kanban"), None)
        names = {n.get("name") for n in scope.iter("field")} if scope is not None else set()
        return None if currency in names else field.name

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
        # the conversation widget shows the server's reason where the reply box would be
        nobody = self.env["res.partner"].create({"name": "No number"})
        page = nobody.sms_conversation_read()
        self.assertFalse(page["can_reply"])
        # the reason comes from the server, in the user's language
        self.assertEqual(
            page["reply_refusal"], "Add a mobile or phone number to text this contact."
        )
        page = self.partner.sms_conversation_read()
        self.assertTrue(page["can_reply"])
        self.assertFalse(page["reply_refusal"])
