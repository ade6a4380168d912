"""Senders per country and routing (issue 24, part 3): the sender of an SMS by its
destination, a company's routes of countries to other gateways (their allow-lists
still applying), automatic answers from the sender the reply came in on, and who may
change senders and routes."""

import uuid
from datetime import datetime

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..models.sms_sender import SmsRequest
from ..tools import policy
from ..tools.gateways.base import InboundSms
from .common import (
    NUMBER,
    JsonRpcActorMixin,
    SmsJourneyCase,
    SmsJourneyHttpCase,
    marketing_preview,
    new_sms_user,
)

ITALIAN_SENDER = "+390212345678"
OTHER_SENDER = "+15005550007"
FRANCE_SENDER = "+33612345678"
ROMANIAN = "+40722123456"
FRENCH = "+33611223344"
# 12:00 in Rome: inside every window
MORNING = datetime(2026, 6, 15, 10, 0)


class RoutingSetup:
    """The test gateway with two senders (an Italian number for Italy, another number
    for every country) and a second gateway of the company for France."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Sender = cls.env["sms.gateway.sender"]
        cls.sender_it = Sender.create(
            {
                "gateway_id": cls.gateway.id,
                "value": ITALIAN_SENDER,
                "country_ids": [(6, 0, cls.env.ref("base.it").ids)],
                "sequence": 20,
            }
        )
        cls.sender_any = Sender.create(
            {"gateway_id": cls.gateway.id, "value": OTHER_SENDER, "sequence": 10}
        )
        cls.gateway_fr = cls.env["sms.gateway"].create(
            dict(cls._gateway_values(), name="France", sender=FRANCE_SENDER)
        )
        cls.romanian = cls.env["res.partner"].create(
            {"name": "Andrei Popescu", "mobile": ROMANIAN, "country_id": cls.env.ref("base.ro").id}
        )
        cls.french = cls.env["res.partner"].create(
            {"name": "Claire Martin", "mobile": FRENCH, "country_id": cls.env.ref("base.fr").id}
        )

    def send(self, partner, body="Your order is ready"):
        return self.env["sms.sender"]._send([SmsRequest(body=body, partner=partner)])[0].outbox

    def sent_from(self, number):
        """The "From" of each SMS the provider received for ``number``."""
        return [message["from"] for message in self.received(number)]

    def route(self, country_xmlid, gateway):
        return self.env["sms.gateway.route"].create(
            {"country_id": self.env.ref(country_xmlid).id, "gateway_id": gateway.id}
        )


@tagged("post_install", "-at_install")
class TestGatewayRouting(RoutingSetup, SmsJourneyCase):
    def reply_to(self, recipient, body):
        """A reply from the test partner written to our number ``recipient``."""
        self.env["sms.interaction"]._receive(
            self.gateway,
            InboundSms(
                provider_message_id=f"SM{uuid.uuid4().hex}",
                sender=NUMBER,
                recipient=recipient,
                body=body,
            ),
        )
        self.process_inbound()

    # --- the sender by destination ------------------------------------------------

    def test_the_sender_is_picked_by_destination(self):
        with self.frozen_now(MORNING):
            italian, romanian = self.send(self.partner), self.send(self.romanian)
            self.dispatch()
        # the sender naming Italy wins over the one of every country, whatever the order
        self.assertEqual(italian.sender_id, self.sender_it)
        self.assertEqual(romanian.sender_id, self.sender_any)
        self.assertEqual(self.sent_from(NUMBER), [ITALIAN_SENDER])
        self.assertEqual(self.sent_from(ROMANIAN), [OTHER_SENDER])

    def test_odoo_own_sms_leave_from_the_sender_of_their_destination(self):
        with self.frozen_now(MORNING):
            self.partner._message_sms("Hello from the chatter")
            self.dispatch()
        self.assertEqual(self.sent_from(NUMBER), [ITALIAN_SENDER])

    def test_without_a_serving_sender_the_default_sender_is_used(self):
        self.sender_any.country_ids = self.env.ref("base.us")
        with self.frozen_now(MORNING):
            romanian = self.send(self.romanian)
            self.dispatch()
        self.assertFalse(romanian.sender_id)
        self.assertEqual(self.sent_from(ROMANIAN), [self.gateway.sender])

    def test_an_archived_sender_is_not_picked(self):
        self.sender_it.active = False
        with self.frozen_now(MORNING):
            self.send(self.partner)
            self.dispatch()
        self.assertEqual(self.sent_from(NUMBER), [OTHER_SENDER])

    def test_alphanumeric_senders_take_no_replies_and_are_checked(self):
        alpha = self.env["sms.gateway.sender"].create(
            {
                "gateway_id": self.gateway.id,
                "kind": "alphanumeric",
                "value": "AcmeShop",
                "registration_reference": "AGCOM-2026-0042",
            }
        )
        self.assertFalse(alpha.can_receive_replies)
        self.assertTrue(self.sender_it.can_receive_replies)
        self.assertEqual(self.sender_it.value, ITALIAN_SENDER)
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.env["sms.gateway.sender"].create(
                {"gateway_id": self.gateway.id, "kind": "alphanumeric", "value": "Far too long ID"}
            )
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.env["sms.gateway.sender"].create({"gateway_id": self.gateway.id, "value": "12"})

    # --- routing by destination country ----------------------------------------------

    def test_a_routed_country_goes_through_its_gateway(self):
        self.route("base.fr", self.gateway_fr)
        with self.frozen_now(MORNING):
            french, italian = self.send(self.french), self.send(self.partner)
            self.french._message_sms("Through Odoo's own path")
            self.dispatch()
        self.assertEqual(french.gateway_id, self.gateway_fr)
        self.assertEqual(italian.gateway_id, self.gateway)
        odoo_sms = self.outbox(partner_id=self.french.id)
        self.assertEqual(len(odoo_sms), 2)
        self.assertEqual(odoo_sms.gateway_id, self.gateway_fr)
        # the French gateway has no senders: its default one
        self.assertEqual(self.sent_from(FRENCH), [FRANCE_SENDER, FRANCE_SENDER])
        self.assertEqual(self.sent_from(NUMBER), [ITALIAN_SENDER])

    def test_the_routed_gateway_allow_list_still_applies(self):
        self.route("base.fr", self.gateway_fr)
        self.gateway_fr.allowed_country_ids = self.env.ref("base.it")
        with self.frozen_now(MORNING):
            self.send(self.french)
            self.dispatch()
        canceled = self.assertSmsCanceled(self.french, reason=policy.DESTINATION_NOT_ALLOWED)
        self.assertEqual(canceled.gateway_id, self.gateway_fr)
        self.assertSmsNotSent(FRENCH)

    def test_the_preview_prices_a_routed_destination_at_its_gateway(self):
        self.route("base.fr", self.gateway_fr)
        self.gateway_fr.price_per_segment = 0.07
        partners = self.french | self.partner
        (partners | self.romanian)._sms_consent_set("opted_in", "staff", "signed form")
        with self.frozen_now(MORNING):
            preview = marketing_preview(self.env, partners)
        costs = {line.partner_id: line.cost for line in preview.line_ids}
        self.assertEqual(costs, {self.french: 0.07, self.partner: 0.01})

    def test_a_route_to_an_archived_gateway_falls_back_to_the_company_gateway(self):
        self.route("base.fr", self.gateway_fr)
        self.gateway_fr.active = False
        with self.frozen_now(MORNING):
            french = self.send(self.french)
        self.assertEqual(french.gateway_id, self.gateway)

    def test_a_route_to_another_company_gateway_is_refused(self):
        other = self.env["res.company"].create({"name": "Other company"})
        foreign = self.env["sms.gateway"].create(
            dict(self._gateway_values(), name="Foreign", company_id=other.id)
        )
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.route("base.fr", foreign)

    # --- answers leave from the sender the reply came in on ------------------------------

    def test_a_reply_to_sender_b_is_answered_from_sender_b(self):
        # the partner is Italian: by destination its SMS leave from the Italian sender
        self.reply_to(OTHER_SENDER, "HELP")
        self.reply_to(ITALIAN_SENDER, "HELP")
        self.reply_to(self.gateway.sender, "HELP")
        self.dispatch()
        answers = self.outbox(number=NUMBER)
        self.assertEqual(len(answers), 3)
        self.assertEqual(answers.gateway_id, self.gateway)
        self.assertEqual(
            answers.mapped(lambda m: m.sender_id.value or False),
            [OTHER_SENDER, ITALIAN_SENDER, False],
        )
        # one dispatch batch, sent in parallel: the provider gets them in any order
        self.assertEqual(
            sorted(self.sent_from(NUMBER)),
            sorted([OTHER_SENDER, ITALIAN_SENDER, self.gateway.sender]),
        )

    def test_a_stop_is_confirmed_from_the_sender_it_was_sent_to(self):
        self.reply_to(OTHER_SENDER, "STOP")
        self.dispatch()
        self.assertEqual(self.sent_from(NUMBER), [OTHER_SENDER])
        self.assertIn("unsubscribed", self.received(NUMBER)[0]["body"])

    def test_a_reply_on_a_routed_gateway_is_answered_there(self):
        # routes pick the gateway of new SMS; an answer stays on the reply's gateway
        self.route("base.it", self.gateway_fr)
        self.reply_to(ITALIAN_SENDER, "HELP")
        self.dispatch()
        answer = self.outbox(number=NUMBER)
        self.assertEqual(answer.gateway_id, self.gateway)
        self.assertEqual(self.sent_from(NUMBER), [ITALIAN_SENDER])

    # --- rights ----------------------------------------------------------------------

    def test_an_sms_user_reads_but_cannot_change_senders_or_routes(self):
        route = self.route("base.fr", self.gateway_fr)
        user = new_sms_user(self.env, "routing_sms_user")
        Sender = self.env["sms.gateway.sender"].with_user(user)
        Route = self.env["sms.gateway.route"].with_user(user)
        self.assertEqual(Sender.search([("gateway_id", "=", self.gateway.id)]).mapped("value"),
                         [OTHER_SENDER, ITALIAN_SENDER])  # fmt: skip
        self.assertEqual(Route.search([]), route)
        for attempt in (
            lambda: self.sender_it.with_user(user).write({"value": "+390299999999"}),
            lambda: Sender.create({"gateway_id": self.gateway.id, "value": "+390299999999"}),
            lambda: self.sender_it.with_user(user).unlink(),
            lambda: route.with_user(user).write({"gateway_id": self.gateway.id}),
            lambda: Route.create(
                {"country_id": self.env.ref("base.es").id, "gateway_id": self.gateway_fr.id}
            ),
            lambda: self.env.company.with_user(user).sudo(False).sms_gateway_route_ids,
        ):
            with self.subTest(attempt=attempt), self.assertRaises(AccessError):
                attempt()


@tagged("post_install", "-at_install")
class TestGatewayRoutingHttp(RoutingSetup, JsonRpcActorMixin, SmsJourneyHttpCase):
    def test_a_reply_over_the_webhook_is_answered_from_its_sender(self):
        self.env.flush_all()
        status, _text = self.provider.post_inbound(
            self.gateway._webhook_url("inbound"), NUMBER, OTHER_SENDER, "HELP"
        )
        self.env.invalidate_all()
        self.assertEqual(status, 200)
        self.process_inbound()
        self.dispatch()
        self.assertEqual(self.sent_from(NUMBER), [OTHER_SENDER])
        reply = self.env["sms.interaction"].search([("number", "=", NUMBER)])
        self.assertEqual(reply.recipient, OTHER_SENDER)
        self.assertEqual(self.outbox(number=NUMBER).sender_id, self.sender_any)

    def test_an_sms_user_cannot_write_senders_nor_routes_over_json_rpc(self):
        route = self.route("base.fr", self.gateway_fr)
        user = new_sms_user(self.env, "routing_rpc_user")
        self.login_jsonrpc(user)
        calls = [
            ("sms.gateway.sender", "write", [self.sender_it.id], {"value": "+390299999999"}),
            ("sms.gateway.sender", "create",
             {"gateway_id": self.gateway.id, "value": "+390299999999"}),
            ("sms.gateway.route", "write", [route.id], {"gateway_id": self.gateway.id}),
            ("sms.gateway.route", "create",
             {"country_id": self.env.ref("base.es").id, "gateway_id": self.gateway_fr.id}),
            ("res.company", "write", [self.env.company.id],
             {"sms_gateway_route_ids": [(5, 0, 0)]}),
        ]  # fmt: skip
        for model, method, *args in calls:
            with self.subTest(model=model, method=method):
                _result, error = self.call_kw(model, method, *args)
                self.assertTrue(error, f"{model}.{method} was allowed")
                self.assertEqual(error["name"], "odoo.exceptions.AccessError", error)
        result, error = self.call_kw(
            "sms.gateway.sender", "search_read", [("id", "=", self.sender_it.id)], ["value"]
        )
        self.assertFalse(error)
        self.assertEqual(result[0]["value"], ITALIAN_SENDER)
        self.assertEqual(self.sender_it.value, ITALIAN_SENDER)
        self.assertEqual(route.gateway_id, self.gateway_fr)


@tagged("post_install", "-at_install")
class TestSandboxPhoneSenders(RoutingSetup, SmsJourneyCase):
    gateway_code = "sandbox"

    def test_the_sandbox_phone_answers_the_sender_that_texted_it(self):
        with self.frozen_now(MORNING):
            self.send(self.partner)
            self.dispatch()
        self.provider.reset()
        self.env["sms.gateway"].sandbox_phone_reply(NUMBER, "HELP")
        self.process_inbound()
        self.dispatch()
        reply = self.env["sms.interaction"].search([("number", "=", NUMBER)])
        self.assertEqual(reply.recipient, ITALIAN_SENDER)
        self.assertEqual(self.sent_from(NUMBER), [ITALIAN_SENDER])
