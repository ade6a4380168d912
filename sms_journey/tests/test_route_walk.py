"""Every HTTP route of sms_journey, walked as each actor with hostile input.

The routes are read from Odoo's routing map (every rule whose endpoint is defined or
overridden by a controller class of this addon), so a new route is walked without a new
test. Each is called as the public visitor, a portal user, a plain employee, an SMS user,
an SMS user of another company and an SMS manager, with hostile values in every URL
argument (0, -1, 2**31, 2**63, text, other companies' record ids), by each HTTP method it
allows (a JSON-RPC POST for ``json`` routes), and must:

* never answer 5xx (nor a JSON-RPC server error);
* refuse the public visitor when it needs a user (``auth='user'``);
* answer 4xx to provider webhooks, which nobody here signs;
* answer 403/404 for another company's record given to a ``model(...)`` argument;
* show nothing of a company the actor does not belong to (marker strings on its records).
"""

import json
import re

from odoo.tests import HttpCase, new_test_user, tagged

from .common import new_other_company_user

OUR_MODULE = "odoo.addons.sms_journey."
# an argument of a werkzeug rule: <converter(args):name> or <name>
ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
HOSTILE_NUMBERS = ["0", "-1", "00", str(2**31 - 1), str(2**31), str(2**63), "9" * 40, "1e3"]
HOSTILE_TEXTS = ["x", "' OR 1=1 --", "%00", "%FF", "..%2F..", "a" * 300]
NUMBER_CONVERTERS = {"int", "float", "model", "models"}
# JSON-RPC errors a client's request may cause (anything else is a server error)
CLIENT_ERRORS = {
    "odoo.exceptions.AccessDenied",
    "odoo.exceptions.AccessError",
    "odoo.exceptions.MissingError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.http.SessionExpiredException",
    "werkzeug.exceptions.BadRequest",
    "werkzeug.exceptions.Forbidden",
    "werkzeug.exceptions.NotFound",
}
MARKERS = {"main": "LeakMarkMainCompany", "other": "LeakMarkOtherCompany"}


def our_rules(routing_map):
    """The rules of ``routing_map`` whose endpoint a class of this addon defines or
    overrides (an override of another module's route is ours to keep safe too)."""
    for rule in routing_map.iter_rules():
        method = getattr(rule.endpoint, "func", None)
        owner = getattr(method, "__self__", None)
        if owner is None:
            continue
        name = method.__name__
        if any(
            name in vars(cls) and cls.__module__.startswith(OUR_MODULE) for cls in type(owner).mro()
        ):
            yield rule


@tagged("post_install", "-at_install", "sms_journey_security")
class TestRouteWalk(HttpCase):
    """Each route of ours, each actor, hostile URL arguments: see the module docstring."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.main_company = cls.env.company
        cls.other_user = new_other_company_user(cls.env, "walk_other_sms_user")
        cls.other_company = cls.other_user.company_id
        cls.actors = {
            "public": None,
            "portal": new_test_user(cls.env, "walk_portal", groups="base.group_portal"),
            "employee": new_test_user(cls.env, "walk_employee", groups="base.group_user"),
            "sms user": new_test_user(
                cls.env, "walk_sms_user", groups="sms_journey.group_sms_journey_user"
            ),
            "sms user of another company": cls.other_user,
            "sms manager": new_test_user(
                cls.env, "walk_sms_manager", groups="sms_journey.group_sms_journey_manager"
            ),
        }
        cls.gateways = {}
        for key, company in (("main", cls.main_company), ("other", cls.other_company)):
            marker = MARKERS[key]
            gateway = cls.env["sms.gateway"].create(
                {
                    "name": f"{marker} gateway",
                    "code": "twilio",
                    "account_sid": "ACwalk",
                    "auth_token": f"{marker}-token",
                    "sender": "+15005550006",
                    "company_id": company.id,
                }
            )
            cls.gateways[key] = gateway
            partner = cls.env["res.partner"].create(
                {"name": f"{marker} contact", "mobile": "+393331234567", "company_id": company.id}
            )
            cls.env["sms.gateway.message"].create(
                {
                    "sms_uuid": f"{marker}-uuid",
                    "gateway_id": gateway.id,
                    "partner_id": partner.id,
                    "number": "+393331234567",
                    "body": f"{marker} body",
                    "state": "sent",
                }
            )
        cls.company_ids = cls._company_record_ids()
        cls.rules = list(our_rules(cls.env["ir.http"].routing_map()))

    @classmethod
    def _company_record_ids(cls):
        """{company key: {model: ids}} of every model of this addon with a company."""
        models = cls.env["ir.model.data"].search(
            [("module", "=", "sms_journey"), ("model", "=", "ir.model")]
        )
        names = cls.env["ir.model"].browse(models.mapped("res_id")).mapped("model")
        result = {"main": {}, "other": {}}
        for name in names:
            Model = cls.env[name].sudo()
            field = Model._fields.get("company_id")
            if Model._abstract or not field or not field.store:
                continue
            for key, company in (("main", cls.main_company), ("other", cls.other_company)):
                ids = (
                    Model.with_context(active_test=False)
                    .search([("company_id", "=", company.id)], limit=2)
                    .ids
                )
                if ids:
                    result[key][name] = ids
        return result

    # -- the walk ------------------------------------------------------------------------

    def _companies_of(self, actor):
        """The company keys whose data ``actor`` may see (none for outsiders)."""
        user = self.actors[actor]
        if user is None or not user._is_internal():
            return set()
        return {key for key, company in self._companies().items() if company in user.company_ids}

    def _companies(self):
        return {"main": self.main_company, "other": self.other_company}

    def _values(self, rule, converter, name):
        """(raw URL text, (company key, model, id) of the record or None) to try."""
        if converter not in NUMBER_CONVERTERS:
            return [(text, None) for text in HOSTILE_TEXTS]
        values = [(text, None) for text in HOSTILE_NUMBERS]
        model = getattr(rule._converters.get(name), "model", None)
        if model:  # a model(...) argument: the records of that model, by company
            for key in ("main", "other"):
                for record_id in self.company_ids[key].get(model, []):
                    values.append((str(record_id), (key, model, record_id)))
            return values
        # a bare number: the ids of every company's records, each once
        ids = {
            record_id
            for key in ("main", "other")
            for ids in self.company_ids[key].values()
            for record_id in ids
        }
        return values + [(str(record_id), None) for record_id in sorted(ids)]

    def _cases(self, rule):
        """URL paths for ``rule``: each argument in turn takes each hostile value, the
        others a plain one. Yields (path, {argument: owner of the record or None})."""
        arguments = ARGUMENT.findall(rule.rule)
        plain = {
            name: ("1" if (converter or "default") in NUMBER_CONVERTERS else "x")
            for converter, name in arguments
        }
        for converter, name in arguments:
            for text, owner in self._values(rule, converter or "default", name):
                values = dict(plain, **{name: text})
                path = ARGUMENT.sub(lambda match, values=values: values[match[2]], rule.rule)
                yield path, {"converter": converter, "owner": owner}
        if not arguments:
            yield rule.rule, {"converter": None, "owner": None}

    def _call(self, routing, method, path):
        url = self.base_url() + path
        if routing.get("type") == "json":
            body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {}}
            return self.opener.post(
                url,
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=30,
                allow_redirects=False,
            )
        data = {"csrf_token": "forged"} if method == "POST" else None
        return self.opener.request(method, url, data=data, timeout=30, allow_redirects=False)

    def _check(self, rule, actor, method, path, case, response):
        routing = rule.endpoint.routing
        where = f"{actor} {method} {path} ({rule.rule}) → {response.status_code}"
        self.assertLess(response.status_code, 500, f"server error: {where}")
        json_error = None
        if routing.get("type") == "json" and response.status_code == 200:
            json_error = (response.json().get("error") or {}).get("data", {}).get("name")
            if json_error:
                self.assertIn(json_error, CLIENT_ERRORS, f"server error: {where}")
        status = response.status_code
        refused = 400 <= status < 500 or bool(json_error)
        if routing.get("auth") == "user" and actor == "public":
            to_login = 300 <= status < 400 and "/web/login" in response.headers.get("Location", "")
            self.assertTrue(refused or to_login, f"a visitor got through: {where}")
        if routing.get("sms_journey_webhook"):
            self.assertTrue(400 <= status < 500, f"an unsigned webhook was taken: {where}")
        owner = case["owner"]
        if case["converter"] == "model" and owner and owner[0] not in self._companies_of(actor):
            self.assertTrue(
                status in (403, 404) or refused, f"another company's record answered: {where}"
            )
        shown = response.text + " ".join(response.headers.values())
        for key in {"main", "other"} - self._companies_of(actor):
            self.assertNotIn(MARKERS[key], shown, f"data of company {key} leaked: {where}")

    def test_every_route_as_every_actor(self):
        self.assertTrue(
            any(rule.endpoint.routing.get("sms_journey_webhook") for rule in self.rules),
            "the walk must find our routes in the routing map",
        )
        self.env.flush_all()
        for actor, user in self.actors.items():
            if user is None:
                self.authenticate(None, None)
            else:
                self.authenticate(user.login, user.login)
            for rule in self.rules:
                routing = rule.endpoint.routing
                methods = routing.get("methods") or ["GET", "POST"]
                if routing.get("type") == "json":
                    methods = ["POST"]
                for method in methods:
                    if method in ("OPTIONS", "HEAD"):
                        continue
                    for path, case in self._cases(rule):
                        with self.subTest(actor=actor, rule=rule.rule, method=method, path=path):
                            response = self._call(routing, method, path)
                            self._check(rule, actor, method, path, case, response)
