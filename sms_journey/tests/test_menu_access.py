"""Everyone can use Odoo with the addon installed: each actor logs in over JSON-RPC,
loads ``/odoo`` and its menus, and opens every menu of ours it sees as the web client
would. The menus are read from the module's own ``ir.ui.menu`` records, so a new menu
is covered without writing a test."""

from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import datetime, safe_eval, time

from .common import JsonRpcActorMixin, SmsJourneyHttpCase, new_other_company_user, new_sms_user

# How the web client loads the client actions of our menus: the first call it makes.
CLIENT_ACTION_LOADS = {
    "sms_journey.sandbox_phone": ("sms.gateway", "sandbox_phone_numbers"),
}


def arch_fields(arch):
    """The fields a view shows itself (not those of its x2many sub-views)."""
    return {
        node.get("name")
        for node in etree.fromstring(arch).iter("field")
        if not any(parent.tag == "field" for parent in node.iterancestors())
    }


@tagged("post_install", "-at_install")
class TestMenusForEveryone(JsonRpcActorMixin, SmsJourneyHttpCase):
    gateway_code = "sandbox"  # the Sandbox phone's menu shows while a sandbox gateway exists

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        manager = "sms_journey.group_sms_journey_manager"
        cls.employee = new_sms_user(cls.env, "menu_employee", groups="base.group_user")
        cls.portal = new_sms_user(cls.env, "menu_portal", groups="base.group_portal")
        cls.sms_user = new_sms_user(cls.env, "menu_sms_user")
        cls.sms_manager = new_sms_user(cls.env, "menu_sms_manager", groups=manager)
        cls.other_company = new_other_company_user(cls.env, "menu_other_company", groups=manager)
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.password = cls.admin.login  # login_jsonrpc's password
        cls.our_menu_ids = set(
            cls.env["ir.model.data"]
            .search([("module", "=", "sms_journey"), ("model", "=", "ir.ui.menu")])
            .mapped("res_id")
        )

    def open_session(self, user):
        """Log in over JSON-RPC, load the web client and its menus; returns the ids of
        our menus the user sees, by id, as ``load_menus`` gives them."""
        self.login_jsonrpc(user)
        page = self.url_open("/odoo")
        self.assertEqual(page.status_code, 200, f"/odoo for {user.login}")
        menus = self.url_open("/web/webclient/load_menus/test")
        if not user._is_internal():  # Odoo keeps the web client's menus from them
            self.assertEqual(menus.status_code, 403, f"menus of {user.login}")
            return {}
        self.assertEqual(menus.status_code, 200, f"menus of {user.login}")
        return {
            menu["id"]: menu
            for key, menu in menus.json().items()
            if key != "root" and menu["id"] in self.our_menu_ids
        }

    def open_menu(self, user, menu):
        """Open ``menu`` as the web client does: load its action, run it if it is a
        server action, then read the first view of the window action it gives."""
        where = f"menu {menu['xmlid']} as {user.login}"
        action, error = self.jsonrpc("/web/action/load", {"action_id": menu["actionID"]})
        self.assertFalse(error, f"{where}: {error}")
        if action["type"] == "ir.actions.server":
            action, error = self.jsonrpc("/web/action/run", {"action_id": action["id"]})
            self.assertFalse(error, f"{where}: {error}")
        if action["type"] == "ir.actions.client":
            self.assertIn(action["tag"], CLIENT_ACTION_LOADS, f"{where}: say how it loads")
            _result, error = self.call_kw(*CLIENT_ACTION_LOADS[action["tag"]])
            self.assertFalse(error, f"{where}: {error}")
            return
        self.assertEqual(action["type"], "ir.actions.act_window", where)
        self.read_first_view(user, action, where)

    def view_spec(self, loaded, model, view_type):
        """What the web client reads for a view ``get_views`` gave: its fields, with
        the names of the records they link to."""
        fields = loaded["models"][model]["fields"]
        spec = {}
        for name in arch_fields(loaded["views"][view_type]["arch"]):
            relational = fields[name]["type"] in ("many2one", "many2many")
            spec[name] = {"fields": {"display_name": {}}} if relational else {}
        return spec

    def read_first_view(self, user, action, where):
        model = action["res_model"]
        views = [list(view) for view in action["views"]]
        search = [action.get("search_view_id") and action["search_view_id"][0], "search"]
        loaded, error = self.call_kw(
            model, "get_views", views=[*views, search], options={"action_id": action["id"]}
        )
        self.assertFalse(error, f"{where}: {error}")
        first_type = views[0][1]
        spec = self.view_spec(loaded, model, first_type)
        if first_type == "form":
            if action.get("res_id"):
                _result, error = self.call_kw(model, "web_read", [action["res_id"]], spec)
            else:  # a new record, as a settings page or a wizard opens
                _result, error = self.call_kw(model, "onchange", [], {}, [], spec)
        else:
            domain = action.get("domain") or []
            if isinstance(domain, str):
                domain = safe_eval(
                    domain,
                    {"uid": user.id, "datetime": datetime, "time": time, "context_today": None},
                )
            _result, error = self.call_kw(
                model, "web_search_read", domain=domain, specification=spec, limit=80
            )
        self.assertFalse(error, f"{where}: {error}")

    def test_people_without_sms_rights_use_odoo_and_see_none_of_our_menus(self):
        for user in (self.employee, self.portal):
            with self.subTest(user=user.login):
                self.assertEqual(self.open_session(user), {})

    def test_every_menu_opens_for_whoever_sees_it(self):
        for user in (self.sms_user, self.sms_manager, self.other_company, self.admin):
            with self.subTest(user=user.login):
                menus = self.open_session(user)
                self.assertTrue(menus)
                for menu in menus.values():
                    if menu["actionID"]:
                        with self.subTest(menu=menu["xmlid"]):
                            self.open_menu(user, menu)

    def test_audiences(self):
        """The SMS manager of the company with the sandbox gateway sees every menu of
        ours but Settings (Odoo's settings are the administrators'); an SMS user the
        same but the configuration; the other company's manager no Sandbox phone (its
        company has no sandbox gateway); the administrator all."""
        ref = self.env.ref
        configuration = ref("sms_journey.sms_journey_menu_configuration")
        config_ids = set(self.env["ir.ui.menu"].search([("id", "child_of", configuration.id)]).ids)
        settings = ref("sms_journey.sms_journey_menu_settings").id
        sandbox = ref("sms_journey.sms_sandbox_phone_menu").id
        managed = self.our_menu_ids - {settings}
        self.assertEqual(set(self.open_session(self.sms_manager)), managed)
        self.assertEqual(set(self.open_session(self.sms_user)), self.our_menu_ids - config_ids)
        self.assertEqual(set(self.open_session(self.other_company)), managed - {sandbox})
        self.assertEqual(set(self.open_session(self.admin)), self.our_menu_ids)

    def test_our_views_open_for_internal_users(self):
        """Every list, form and kanban view of ours, and the views of other apps we
        extend (contacts, orders...), loads and reads its records for each internal user
        who may read its model: the plain employee opening a contact included."""
        data = self.env["ir.model.data"].search(
            [("module", "=", "sms_journey"), ("model", "=", "ir.ui.view")]
        )
        roots = set()
        for view in self.env["ir.ui.view"].browse(data.mapped("res_id")):
            while view.mode == "extension" and view.inherit_id:
                view = view.inherit_id
            if view.type in ("list", "form", "kanban"):
                roots.add(view)
        opened = set()
        for user in (self.employee, self.sms_user, self.other_company):
            self.login_jsonrpc(user)
            for view in roots:
                if not self.env[view.model].with_user(user).has_access("read"):
                    continue
                opened.add((user, view))
                with self.subTest(user=user.login, view=view.xml_id or view.name):
                    loaded, error = self.call_kw(view.model, "get_views", [[view.id, view.type]])
                    self.assertFalse(error, error)
                    spec = self.view_spec(loaded, view.model, view.type)
                    _result, error = self.call_kw(
                        view.model, "web_search_read", domain=[], specification=spec, limit=5
                    )
                    self.assertFalse(error, error)
        self.assertIn((self.employee, self.env.ref("base.view_partner_form")), opened)
