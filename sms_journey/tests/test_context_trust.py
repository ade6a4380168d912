"""No trust through the context: the context a client sends over JSON-RPC changes no
kind, no policy and no permission (issue 20, items 3 and 7).

Former context keys of ours and what replaced them:

- ``sms_kind``, ``sms_journey_template_id``: values our senders pass, else
  ``sms.sms._sms_journey_source`` set by our overrides (composer, templates);
- ``sms_journey_policy_applied``: ``sms.sms._sms_journey_send_decided`` (private);
- ``sms_journey_reply_queue``: an ``InboundBatch`` (``tools/inbound_batch.py``) the
  inbound worker passes down the pipeline as an argument.
"""

import ast
import inspect
import json
import logging
import pathlib
from datetime import datetime
from unittest.mock import patch

from odoo.service.model import get_public_method
from odoo.tests import new_test_user, tagged
from odoo.tools import frozendict, mute_logger

from .common import SmsJourneyHttpCase, new_partner_template, new_sms_mailing, new_sms_user

_logger = logging.getLogger(__name__)
# inside the marketing send window of the tests' company (Europe/Rome)
DAYTIME = datetime(2026, 3, 2, 10, 0)
FORMER_KEYS = (
    "sms_kind",
    "sms_journey_template_id",
    "sms_journey_policy_applied",
    "sms_journey_reply_queue",
)
SMS_USER = "sms_journey.group_sms_journey_user"
ADDON = pathlib.Path(__file__).resolve().parent.parent


def _is_context(node):
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in ("context", "ctx", "_context")


def context_key_uses(tree, keys):
    """Lines of ``tree`` that read one of ``keys`` from a context (``context.get(k)``,
    ``context[k]``) or put one in (``with_context(k=…)``, ``with_context({k: …})``)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "with_context":
                named = {keyword.arg for keyword in node.keywords}
                named |= {
                    key.value
                    for arg in node.args
                    if isinstance(arg, ast.Dict)
                    for key in arg.keys
                    if isinstance(key, ast.Constant)
                }
                if named & set(keys):
                    lines.append(node.lineno)
            elif node.func.attr == "get" and _is_context(node.func.value) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and first.value in keys:
                    lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and _is_context(node.value):
            if isinstance(node.slice, ast.Constant) and node.slice.value in keys:
                lines.append(node.lineno)
    return lines


def hostile_context(template_id):
    """Every former key set the way a client would set it to cheat."""
    return {
        "sms_kind": "essential",
        "default_sms_kind": "essential",
        "sms_journey_template_id": template_id,
        "sms_journey_policy_applied": True,
        "sms_journey_reply_queue": {"replies": [], "lookups": {}},
    }


@tagged("post_install", "-at_install")
class TestNoTrustThroughContext(SmsJourneyHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_marketing_consent = "opt_in"  # the default, whatever the database
        # both may post on contacts' chatters (Odoo asks for the contact creation right)
        cls.sms_user = new_sms_user(
            cls.env, "ctx_sms_user", groups=f"{SMS_USER},base.group_partner_manager"
        )
        cls.employee = new_sms_user(
            cls.env, "ctx_employee", groups="base.group_user,base.group_partner_manager"
        )
        cls.manager = new_sms_user(
            cls.env, "ctx_manager", groups="sms_journey.group_sms_journey_manager"
        )
        cls.promo = new_partner_template(cls.env, "Promo", "Summer sale, {{ object.name }}!")
        cls.hostile = hostile_context(cls.promo.id)

    # helpers ---------------------------------------------------------------

    def call(self, model, method, args, kwargs=None, context=None, user=None):
        """``model.method(*args, **kwargs)`` over JSON-RPC as ``user`` (a session of
        theirs), with ``context``; returns the decoded answer (``result`` or ``error``)."""
        if user is not None and getattr(self, "_session_login", None) != user.login:
            self.authenticate(user.login, user.login)
            self._session_login = user.login
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=self._json(
                {
                    "model": model,
                    "method": method,
                    "args": args,
                    "kwargs": dict(kwargs or {}, context=dict(context or {}, lang="en_US")),
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()

    def _json(self, params):
        return json.dumps({"id": 0, "jsonrpc": "2.0", "method": "call", "params": params})

    def result(self, *args, **kwargs):
        answer = self.call(*args, **kwargs)
        self.assertNotIn("error", answer, answer.get("error"))
        return answer["result"]

    def without_gateway(self):
        """The company sends through Odoo's IAP service (mocked)."""
        self.company.sms_gateway_id = False
        self.env.flush_all()

    # the code never reads them ---------------------------------------------

    def test_no_code_reads_a_former_key(self):
        """No module of the addon reads or sets a former key in a context."""
        offenders = [
            f"{path.relative_to(ADDON)}:{line}"
            for path in ADDON.rglob("*.py")
            if "tests" not in path.relative_to(ADDON).parts
            for line in context_key_uses(ast.parse(path.read_text()), FORMER_KEYS)
        ]
        self.assertEqual(offenders, [])

    # every public method of ours, with and without the keys -----------------

    def _our_public_methods(self):
        """(model, method) of every public method a class of this addon defines."""
        found = []
        for name in sorted(self.env.registry):
            model = self.env[name]
            ours = {
                attr
                for cls in type(model).mro()
                if cls.__module__.startswith("odoo.addons.sms_journey.")
                for attr, value in vars(cls).items()
                if callable(value) and not attr.startswith("_")
            }
            for attr in sorted(ours):
                try:
                    get_public_method(model, attr)
                except Exception:  # private for Odoo: not reachable by RPC
                    continue
                found.append((name, attr))
        return found

    def outcome_of(self, answer):
        error = answer.get("error")
        return error["data"]["name"] if error else "ok"

    def _call_args(self, model, method, ids):
        """Positional arguments for a generic call of ``method``: the records, an empty
        dict for ``write``, one record of defaults for ``create``; None when the method
        needs arguments we cannot make up (the scenarios below and its own tests reach
        it)."""
        required = [
            parameter
            for parameter in list(
                inspect.signature(getattr(type(model), method)).parameters.values()
            )[1:]
            if parameter.default is parameter.empty
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ]
        if not required:
            return [ids]
        if method == "write" and len(required) == 1:
            return [ids, {}]
        if method == "create" and len(required) == 1:
            return [[{}]]
        return None

    def test_every_public_method_ignores_the_former_keys(self):
        """Each public method of ours, called over JSON-RPC by an SMS user and by a plain
        employee on a record of its model, answers the same with and without the former
        keys in the context, and none of them is ever read."""
        # some records of our models to call the methods on
        self.partner._message_sms("Hello", partner_ids=self.partner.ids)
        self.store_inbound("Hello back")
        self.env["sms.contest"].create(
            {"name": "Win", "keyword": "WIN", "date_end": datetime(2030, 1, 1)}
        )
        self.partner._sms_consent_set("opted_in", "staff", "signed form")
        methods = self._our_public_methods()
        self.assertGreater(len(methods), 20)
        read = []
        get, getitem = frozendict.get, frozendict.__getitem__

        def recording_get(context, key, default=None):
            if key in FORMER_KEYS:
                read.append(key)
            return get(context, key, default)

        def recording_getitem(context, key):
            if key in FORMER_KEYS:
                read.append(key)
            return getitem(context, key)

        differences, called = [], 0
        with (
            patch.object(frozendict, "get", recording_get),
            patch.object(frozendict, "__getitem__", recording_getitem),
            # calls made up without arguments fail alike: their errors are noise here
            mute_logger("odoo.sql_db", "odoo.http"),
        ):
            for user in (self.sms_user, self.employee):
                for name, method in methods:
                    model = self.env[name]
                    ids = [] if model._abstract else model.search([], limit=1).ids
                    args = self._call_args(model, method, ids)
                    if args is None:
                        continue
                    called += 1
                    outcomes = []
                    for context in ({}, self.hostile):
                        self.env.flush_all()
                        self.cr.execute("SAVEPOINT context_sweep")
                        answer = self.call(name, method, args, context=context, user=user)
                        self.cr.execute("ROLLBACK TO SAVEPOINT context_sweep")
                        self.env.invalidate_all()
                        outcomes.append(self.outcome_of(answer))
                    if outcomes[0] != outcomes[1]:
                        differences.append((user.login, name, method, *outcomes))
        _logger.info("%s public methods called with and without the former keys", called)
        self.assertGreater(called, 20)
        self.assertEqual(differences, [])
        self.assertEqual(read, [])

    # what the keys used to switch ------------------------------------------

    def test_sms_created_with_the_keys_keeps_its_source_kind(self):
        admin = self.env.ref("base.user_admin")
        admin.password = "admin"
        context = dict(self.hostile, default_template_id=self.promo.id)
        plain_id = self.result(
            "sms.sms",
            "create",
            [{"number": "+393331234567", "body": "Hi"}],
            context=context,
            user=admin,
        )
        plain = self.env["sms.sms"].browse(plain_id)
        self.assertEqual(plain.sms_kind, "transactional")
        self.assertFalse(plain.template_id)
        mailing = new_sms_mailing(self.env, "x")
        mass_id = self.result(
            "sms.sms",
            "create",
            [{"number": "+393331234567", "body": "Hi", "mailing_id": mailing.id}],
            context=context,
            user=admin,
        )
        self.assertEqual(self.env["sms.sms"].browse(mass_id).sms_kind, "marketing")

    def _composer_send(self, user, partner, values, context):
        context = dict(context, active_model="res.partner", active_id=partner.id)
        composer_id = self.result("sms.composer", "create", [values], context=context, user=user)
        self.result("sms.composer", "action_send_sms", [[composer_id]], context=context, user=user)

    def test_policy_applied_key_does_not_skip_the_policy_on_iap(self):
        self.without_gateway()
        with self.mock_iap() as calls:
            self._composer_send(
                self.sms_user,
                self.partner,
                {"body": "Promo for you", "composition_mode": "mass", "mass_force_send": True,
                 "res_model": "res.partner", "res_ids": repr(self.partner.ids)},
                dict(self.hostile, sms_kind="transactional", default_sms_kind="transactional"),
            )  # fmt: skip
        self.assertEqual(calls, [])
        sms = self.env["sms.sms"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(sms.mapped("sms_kind"), ["marketing"])
        self.assertEqual(sms.mapped("state"), ["canceled"])

    def test_essential_key_does_not_reach_an_opted_out_number(self):
        self.partner._sms_consent_set("opted_out", "keyword", stop=True)
        self._composer_send(
            self.sms_user,
            self.partner,
            {"body": "Your code is 1234", "composition_mode": "comment"},
            self.hostile,
        )
        self.dispatch()
        self.assertSmsNotSent(self.partner.phone_sanitized)
        self.assertSmsCanceled(self.partner, reason="opted_out")

    def test_sms_user_cannot_choose_the_kind(self):
        """The composer's kind is the SMS managers': anyone else's choice is refused."""
        answer = self.call(
            "sms.composer",
            "create",
            [{"body": "x", "composition_mode": "comment", "sms_kind": "essential"}],
            context={"active_model": "res.partner", "active_id": self.partner.id},
            user=self.sms_user,
        )
        self.assertEqual(self.outcome_of(answer), "odoo.exceptions.AccessError")


@tagged("post_install", "-at_install")
class TestKindsFromTheSource(SmsJourneyHttpCase):
    """Templates, server actions, the mailing test and the composer send the kind of what
    they send."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sms_marketing_consent = "opt_in"  # the default, whatever the database
        cls.promo = new_partner_template(cls.env, "Promo", "Summer sale, {{ object.name }}!")
        cls.sms_user = new_sms_user(
            cls.env, "kind_sms_user", groups=f"{SMS_USER},base.group_partner_manager"
        )
        cls.manager = new_sms_user(
            cls.env, "kind_manager", groups="sms_journey.group_sms_journey_manager"
        )

    def test_templates_are_marketing_unless_shipped_by_a_module(self):
        self.assertEqual(self.promo.sms_kind, "marketing")
        reminder = self.env.ref("sms_journey.sms_template_appointment_reminder")
        self.assertEqual(reminder.sms_kind, "transactional")
        self.assertEqual(
            self.env.ref("sms_journey.sms_template_journey_cart").sms_kind, "marketing"
        )
        calendar = self.env.ref(
            "calendar_sms.sms_template_data_calendar_reminder", raise_if_not_found=False
        )
        if calendar:
            self.assertEqual(calendar.sms_kind, "transactional")
        values = {
            "name": "Shipped",
            "model_id": self.env["ir.model"]._get_id("res.partner"),
            "body": "x",
        }
        shipped, imported = self.env["sms.template"]._load_records(
            [
                {"xml_id": "sms_journey.test_shipped_template", "values": dict(values)},
                {"xml_id": "__import__.test_imported_template", "values": dict(values)},
            ]
        )
        self.assertEqual(shipped.sms_kind, "transactional")
        self.assertEqual(imported.sms_kind, "marketing")

    def test_server_action_with_a_marketing_template_is_canceled_without_consent(self):
        for method in ("comment", "note", "sms"):
            action = self.env["ir.actions.server"].create(
                {
                    "name": f"Promo by SMS ({method})",
                    "model_id": self.env["ir.model"]._get_id("res.partner"),
                    "state": "sms",
                    "sms_method": method,
                    "sms_template_id": self.promo.id,
                }
            )
            with self.frozen_now(DAYTIME):
                action.with_user(self.sms_user).with_context(
                    active_model="res.partner", active_id=self.partner.id
                ).sudo().run()
                self.env["sms.sms"].sudo()._process_queue()
                self.dispatch()
        self.assertSmsNotSent(self.partner.phone_sanitized)
        canceled = self.assertSmsCanceled(self.partner, reason="no_consent")
        self.assertEqual(set(canceled.mapped("sms_kind")), {"marketing"})
        self.assertEqual(canceled.template_id, self.promo)

    def test_server_action_with_a_transactional_template_goes(self):
        self.promo.sms_kind = "transactional"
        action = self.env["ir.actions.server"].create(
            {
                "name": "Notice by SMS",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "state": "sms",
                "sms_method": "comment",
                "sms_template_id": self.promo.id,
            }
        )
        action.with_context(active_model="res.partner", active_id=self.partner.id).run()
        self.dispatch()
        self.assertSmsSent(self.partner.phone_sanitized, "Summer sale, Giulia Rossi!")

    def test_mailing_test_on_iap_goes_through_the_policy(self):
        self.company.sms_gateway_id = False
        mailing = new_sms_mailing(self.env, "Test of the summer sale")
        with self.mock_iap() as calls:
            self.env["mailing.sms.test"].create(
                {"mailing_id": mailing.id, "numbers": "+39 333 765 4321"}
            ).action_send_sms()
        self.assertEqual(calls, [])
        self.assertIn("could not be sent", mailing.message_ids[0].body)
        # with consent it reaches IAP
        tester = self.env["res.partner"].create({"name": "Tester", "mobile": "+39 333 765 4321"})
        tester._sms_consent_set("opted_in", "staff", "signed form")
        with self.mock_iap() as calls:
            self.env["mailing.sms.test"].create(
                {"mailing_id": mailing.id, "numbers": "+39 333 765 4321"}
            ).action_send_sms()
        self.assertEqual(len(calls), 1)
        self.assertIn("successfully sent", mailing.message_ids[0].body)

    def mass_composer(self, user, **values):
        return (
            self.env["sms.composer"]
            .with_user(user)
            .with_context(
                default_composition_mode="mass",
                default_res_model="res.partner",
                default_res_ids=self.partner.ids,
                default_sms_kind="transactional",
            )
            .create(dict({"body": "Free text", "mass_force_send": True}, **values))
        )

    def test_mass_free_text_by_an_sms_user_is_marketing(self):
        with self.frozen_now(DAYTIME):
            self.mass_composer(self.sms_user).action_send_sms()
            self.dispatch()
        canceled = self.assertSmsCanceled(self.partner, reason="no_consent")
        self.assertEqual(canceled.sms_kind, "marketing")

    def test_mass_template_text_edited_by_an_sms_user_is_marketing(self):
        self.promo.sms_kind = "transactional"
        with self.frozen_now(DAYTIME):
            self.mass_composer(
                self.sms_user, template_id=self.promo.id, body="Edited"
            ).action_send_sms()
            self.dispatch()
        self.assertEqual(self.assertSmsCanceled(self.partner).sms_kind, "marketing")

    def test_a_manager_may_choose_transactional(self):
        with self.frozen_now(DAYTIME):
            self.mass_composer(self.manager, sms_kind="transactional").action_send_sms()
            self.dispatch()
        self.assertSmsSent(self.partner.phone_sanitized, "Free text")

    def test_review_request_is_of_its_template_kind(self):
        self.company.sms_review_template_id = self.promo  # a marketing template
        with self.frozen_now(DAYTIME):
            self.env["sms.review"]._send_request(self.partner, self.company, "https://r.test")
            self.dispatch()
        self.assertSmsCanceled(self.partner, reason="no_consent")

    def test_plain_employee_can_still_send_from_a_chatter(self):
        employee = new_test_user(
            self.env, "kind_employee", groups="base.group_user,base.group_partner_manager"
        )
        self.env["sms.composer"].with_user(employee).with_context(
            active_model="res.partner", active_id=self.partner.id
        ).create({"body": "Your order shipped", "composition_mode": "comment"}).action_send_sms()
        self.dispatch()
        self.assertSmsSent(self.partner.phone_sanitized, "Your order shipped")
