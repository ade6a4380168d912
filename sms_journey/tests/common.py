"""Test bases other sms_journey tests (and modules built on it) reuse.

``SmsJourneyMixin`` starts a loopback Twilio-format provider (the sandbox server) for
the class, points a Twilio gateway of the main company at it and gives helpers to run
the outbox and to play the provider's callbacks. It is a Twilio gateway, not a sandbox
one, because a sandbox takes replies only from the numbers it texted: tests of the
sandbox itself (its phone, its reply wizard) set ``gateway_code = "sandbox"``.

The other bases combine with ``SmsJourneyCase`` or ``SmsJourneyHttpCase`` as mixins:
``JourneyCaseMixin`` builds journeys and runs their crons at frozen times,
``LandingMixin`` adds landing pages and a survey to it, ``ShopViewsMixin`` products,
page views and carts to that, ``PartnerActivityMixin`` gives contacts orders and
customer facts, ``SmsResultsAssertions`` checks the figures of SMS programs,
``JsonRpcActorMixin`` calls models over JSON-RPC as a given user;
``TwoWayCommon`` is the base of the reply and keyword-rule tests. Test modules import
from here only, never from one another: mixins hold no test methods, so the loader
collects nothing twice.
"""

import importlib.util
import json
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from odoo import Command, http
from odoo.tests import HttpCase, TransactionCase, freeze_time, new_test_user
from odoo.tests.common import get_db_name

from ..tools.gateways.loopback import TwilioFormatServer, VonageFormatServer

AUTH_TOKEN = "test-token"
ACCOUNT_SID = "ACtest"
# The test partner's mobile, as tests of replies and outbox rows write it.
NUMBER = "+393331234567"
# A journey short link in an SMS body: /r/<code>/j/<trace id>/<signature>.
LINK = re.compile(r"/r/([A-Za-z0-9]+)/j/(\d+)/([a-z2-7]+)")


class SmsJourneyMixin:
    """Shared setup; combine with TransactionCase or HttpCase."""

    provider_server_class = TwilioFormatServer
    gateway_code = "twilio"  # the sandbox's own client; "sandbox" for tests of the sandbox
    # True: a results refresh reads what was written since the last one, as in production;
    # False: every row again (frozen clocks write past write_dates, which it would miss)
    results_watermark = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.results_watermark:
            cls.startClassPatcher(
                patch.object(
                    type(cls.env["sms.result.snapshot"]),
                    "_since",
                    lambda self: datetime(2000, 1, 1),
                )
            )
        cls.provider = cls._start_provider()
        cls.addClassCleanup(cls.provider.stop)
        cls.company = cls.env.company
        cls.company.write(
            {
                "sms_send_window_start": 8.0,
                "sms_send_window_end": 21.0,
                "sms_frequency_cap": 1,
                "sms_frequency_cap_hours": 24,
                "sms_frequency_cap_policy": "defer",
                "sms_brand_name": "Acme",
                "sms_support_contact": "help@acme.test",
            }
        )
        cls.gateway = cls.env["sms.gateway"].create(cls._gateway_values())
        cls.company.sms_gateway_id = cls.gateway
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Giulia Rossi",
                "mobile": "+39 333 123 4567",
                "country_id": cls.env.ref("base.it").id,
                "tz": "Europe/Rome",
                "email": "giulia@example.com",
            }
        )

    @classmethod
    def _start_provider(cls):
        server = cls.provider_server_class(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
        server.start()
        return server

    @classmethod
    def _gateway_values(cls):
        return {
            "name": "Loopback sandbox",
            "code": cls.gateway_code,
            "api_url": cls.provider.url,
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "sender": "+15005550006",
            "rate_limit": 200,
            "max_concurrency": 4,
            "timeout": 2,
            "price_per_segment": 0.01,
            "company_id": cls.env.company.id,
        }

    def setUp(self):
        super().setUp()
        self.provider.reset()

    # helpers ---------------------------------------------------------------

    def dispatch(self):
        """Run the outbox cron once, as the cron worker would."""
        return self.env["sms.gateway.message"]._cron_dispatch()

    def post_inbound(self, body, sender="+393331234567", message_id=None, process=True):
        """The provider posts a signed inbound SMS to our webhook; then (unless
        ``process`` is False) the inbound worker runs, as it would right after."""
        self.env.flush_all()  # the request runs on the same transaction
        status, text = self.provider.post_inbound(
            self.gateway._webhook_url("inbound"),
            sender,
            self.gateway.sender,
            body,
            message_id=message_id,
        )
        self.env.invalidate_all()
        if process:
            self.process_inbound()
        return status, text

    def process_inbound(self):
        """Run the inbound worker (``_cron_process_received``) until nothing is left, as
        the cron triggered by the webhook does; returns the replies it processed."""
        Interaction = self.env["sms.interaction"].sudo()
        processed = Interaction.browse()
        while batch := Interaction._cron_process_received():
            processed |= batch
        processed.invalidate_recordset()
        return processed

    def receive(self, body, sender="+393331234567", message_id=None, process=True):
        """An inbound SMS handed straight to the model (no HTTP: TransactionCase), then
        (unless ``process`` is False) processed by the inbound worker."""
        interaction = self.store_inbound(body, sender=sender, message_id=message_id)
        if process:
            self.process_inbound()
        return interaction

    def store_inbound(self, body, sender="+393331234567", message_id=None):
        """What the webhook does with an inbound SMS: store it (``_receive``)."""
        from ..tools.gateways.base import InboundSms

        return self.env["sms.interaction"]._receive(
            self.gateway,
            InboundSms(
                provider_message_id=message_id or f"SM{uuid.uuid4().hex}",
                sender=sender,
                recipient=self.gateway.sender,
                body=body,
            ),
        )

    def post_webhook(self, kind, data=None, headers=None, query="", method="POST", sign=True):
        """Call our ``kind`` webhook ('status' or 'inbound') over HTTP with any payload
        (a dict, or raw bytes as a form body), signed as Twilio signs it unless ``sign``
        is False. Returns the ``requests`` response."""
        from ..tools.gateways.twilio import compute_signature

        url = self.gateway._webhook_url(kind) + query
        headers = dict(headers or {})
        if sign:
            signed = data if method == "POST" and isinstance(data, dict) else {}
            if isinstance(data, bytes):
                # the form as the server decodes it (werkzeug keeps invalid UTF-8 escaped)
                from ..models.ir_http import escape_invalid_utf8

                environ = EnvironBuilder(
                    method="POST",
                    data=escape_invalid_utf8(data),
                    content_type="application/x-www-form-urlencoded",
                ).get_environ()
                signed = Request(environ).form
            headers["X-Twilio-Signature"] = compute_signature(AUTH_TOKEN, url, signed)
        if isinstance(data, bytes):
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        self.env.flush_all()  # the request runs on the same transaction
        response = requests.request(method, url, data=data, headers=headers, timeout=30)
        self.env.invalidate_all()
        return response

    def assertAnswered(self, response, status=None):
        """The webhook answered without a server error (``status`` exactly, if given)."""
        self.assertLess(response.status_code, 500, response.text[:300])
        if status is not None:
            self.assertEqual(response.status_code, status, response.text[:300])

    def post_status(self, message, status, error_code=None):
        """The provider posts a signed delivery report for an outbox message."""
        self.env.flush_all()
        result = self.provider.post_status(
            message.provider_message_id, status, error_code=error_code
        )
        self.env.invalidate_all()
        return result

    def conversation_notifications(self, company=None, after=0):
        """The live screens' bus notifications (``sms_conversation_live.py``) on
        ``company``'s channel (the main company's by default) with an id above
        ``after``: their payloads, oldest first. Runs what waits for the commit (the
        notifications are written just before it), as a commit would."""
        from odoo.addons.bus.models.bus import channel_with_db, json_dump

        from ..models.sms_conversation_live import CHANGED, SUBCHANNEL

        self.env.cr.precommit.run()
        channel = channel_with_db(self.env.cr.dbname, (company or self.company, SUBCHANNEL))
        rows = (
            self.env["bus.bus"]
            .sudo()
            .search([("channel", "=", json_dump(channel)), ("id", ">", after)], order="id")
        )
        messages = [json.loads(row.message) for row in rows]
        return [message["payload"] for message in messages if message["type"] == CHANGED]

    @contextmanager
    def live_bus(self):
        """The bus as in production for an HttpCase's browser: Odoo refuses websockets
        under tests, and its test cursor drops what runs after a commit (the NOTIFY that
        wakes the websockets up): here the websockets are allowed and each commit of the
        test cursor wakes those subscribed to the channels it notified."""
        from odoo.sql_db import TestCursor

        from odoo.addons.bus.models.bus import dispatch, hashable
        from odoo.addons.bus.websocket import WebsocketConnectionHandler

        commit = TestCursor.commit

        def commit_and_wake(cursor):
            cursor.flush()  # writes the notifications: their channels are then known
            channels = list(cursor.postcommit.data.get("bus.bus.channels", ()))
            commit(cursor)
            for channel in channels:
                for websocket in list(dispatch._channels_to_ws.get(hashable(channel), ())):
                    websocket.trigger_notification_dispatching()

        with (
            patch.object(WebsocketConnectionHandler, "websocket_allowed", return_value=True),
            patch.object(TestCursor, "commit", commit_and_wake),
        ):
            yield

    def signed_status_report(self, message, status):
        """The signed delivery report the provider would post for ``message``, not
        posted: {url, params, headers}, for a browser to post it."""
        report = {}

        def capture(url, params, headers=None, **kwargs):
            report.update(url=url, params=dict(params), headers=dict(headers or {}))
            return 200, b""

        with patch.object(self.provider, "_post", capture):
            self.provider.post_status(message.provider_message_id, status)
        return report

    def last_bus_id(self):
        """The id of the last bus notification, after writing those waiting."""
        self.env.cr.precommit.run()
        return self.env["bus.bus"].sudo()._bus_last_id()

    def outbox(self, **filters):
        domain = [(key, "=", value) for key, value in filters.items()]
        return self.env["sms.gateway.message"].search(domain, order="id")

    def received(self, number=None):
        """What the provider received (optionally for one number)."""
        return [m for m in self.provider.messages if number is None or m["to"] == number]

    def send_on(self, record, body, partner=None, journey=None, number=None):
        """``body`` sent to ``partner`` through the one door to send, logged on
        ``record``'s chatter (an order, an event…), traced in ``journey`` if given, and
        dispatched to the provider. Returns the outbox row."""
        from ..models.sms_sender import SmsRequest

        partner = partner or self.partner
        sent = self.env["sms.sender"]._send(
            [SmsRequest(body=body, partner=partner, thread=record, number=number)]
        )[0]
        if journey:
            participant = self.env["sms.journey.participant"].create(
                {"journey_id": journey.id, "partner_id": partner.id, "key": sent.uuid}
            )
            self.env["sms.journey.trace"].create(
                {
                    "participant_id": participant.id,
                    "sms_uuid": sent.uuid,
                    "outbox_message_id": sent.outbox.id,
                    "action": "sms",
                    "state": "sent",
                }
            )
        self.dispatch()
        return sent.outbox

    @contextmanager
    def mock_iap(self):
        """Odoo's IAP service answers every SMS "success"; yields the batches sent."""
        from odoo.addons.sms.tools.sms_api import SmsApi

        calls = []

        def _send_sms_batch(api, messages, delivery_reports_url=False):
            calls.append(messages)
            return [
                {"uuid": n["uuid"], "state": "success", "credit": 1}
                for m in messages
                for n in m["numbers"]
            ]

        with patch.object(SmsApi, "_send_sms_batch", _send_sms_batch):
            yield calls

    def conversation(self, partner=None, user=None, limit=30):
        """The contact's conversation page as its widget gets it (as ``user``)."""
        partner = partner or self.partner
        if user:
            partner = partner.with_user(user)
        return partner.sms_conversation_read(limit=limit)

    @contextmanager
    def count_queries(self):
        """Count the SQL queries of the block, pending writes included (flushed before
        and after); the count is ``counter[0]`` after the block."""
        self.env.cr.flush()  # pending work (tracking included) is not the block's
        self.env.invalidate_all()
        counter = [0]
        start = self.env.cr.sql_log_count
        yield counter
        self.env.flush_all()
        counter[0] = self.env.cr.sql_log_count - start

    def bulk_partners(self, count, prefix="Bulk", consent="unknown", start=0):
        """``count`` contacts with distinct Italian mobiles, written in one INSERT (the
        ORM would take minutes for 10,000): only the columns the SMS paths read."""
        from ..models.bulk_sql import insert_rows

        numbers = [f"+39340{i:07d}" for i in range(start, start + count)]
        return insert_rows(
            self.env["res.partner"],
            [
                {
                    "name": f"{prefix} {i}",
                    "active": True,
                    "type": "contact",
                    "autopost_bills": "ask",
                    "journey_stage": "first_contact",
                    "mobile": number,
                    "phone_sanitized": number,
                    "sms_consent_state": consent,
                }
                for i, number in enumerate(numbers)
            ],
        )

    # assertions ------------------------------------------------------------

    def assertQueriesFlat(self, run, small, large, per_thousand=0):
        """``run(n)`` (which returns its query count) costs as many queries for ``large``
        records as for ``small`` ones, up to ``per_thousand`` more per extra 1,000
        records (the ORM reads and prefetches 1,000 rows per query)."""
        few, many = run(small), run(large)
        allowed = few + per_thousand * ((large - small + 999) // 1000)
        self.assertLessEqual(
            many, allowed, f"{small} records: {few} queries, {large} records: {many} queries"
        )
        return few, many

    def assertSmsSent(self, number, body=None, count=None):
        """The provider received SMS for ``number`` (E.164), with ``body`` if given."""
        bodies = [message["body"] for message in self.received(number)]
        self.assertTrue(bodies, f"no SMS reached {number}; the provider got {self.received()}")
        if body is not None:
            self.assertIn(body, bodies)
        if count is not None:
            self.assertEqual(len(bodies), count)

    def assertSmsNotSent(self, number):
        self.assertFalse(self.received(number), f"an SMS reached {number}")

    def assertSmsCanceled(self, partner=None, number=None, reason=None):
        """The outbox canceled an SMS to ``partner`` (or ``number``) with the policy's
        ``reason`` (``tools/policy.py`` cancel reason), and its chatter notification
        says so."""
        domain = [("state", "=", "canceled")]
        if partner is not None:
            domain.append(("partner_id", "=", partner.id))
        if number is not None:
            domain.append(("number", "=", number))
        canceled = self.env["sms.gateway.message"].search(domain)
        self.assertTrue(canceled, f"no canceled SMS for {partner or number}")
        if reason is not None:
            self.assertEqual(set(canceled.mapped("error_code")), {reason})
        return canceled

    def assertConversation(self, partner, bodies, user=None):
        """``partner``'s conversation shows exactly ``bodies``, oldest first."""
        rows = self.conversation(partner, user=user, limit=1000)["messages"]
        self.assertEqual([row["body"] for row in rows], bodies)
        return rows

    def overdue_invoice(self, partner, invoice_date, due_date, amount=80):
        """A posted customer invoice of ``partner`` due on ``due_date`` (skips the test
        when the company has no sale journal, i.e. no chart of accounts)."""
        if not self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.env.company.id)], limit=1
        ):
            self.skipTest("no sale journal (no chart of accounts)")
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": invoice_date,
                "invoice_date_due": due_date,
                "invoice_line_ids": [(0, 0, {"name": "Service", "price_unit": amount})],
            }
        )
        invoice.action_post()
        invoice.invoice_date_due = due_date  # posting recomputes it from the terms
        return invoice

    @contextmanager
    def code_translations(self, lang, translations):
        """sms_journey's code strings translated in ``lang`` as ``translations`` says
        ({msgid: msgstr}) for the block, as if its .po file had them: tests of the
        translated answers do not depend on the translators' files."""
        from odoo.tools.translate import code_translations

        key = ("sms_journey", lang)
        cache = code_translations.python_translations
        loaded = dict(code_translations.get_python_translations(*key))
        before = cache[key]
        cache[key] = {**loaded, **translations}
        try:
            yield
        finally:
            cache[key] = before

    def outbox_bodies(self, number):
        """Bodies of the SMS queued to ``number`` (E.164), oldest first."""
        return (
            self.env["sms.gateway.message"]
            .sudo()
            .search([("number", "=", number)], order="id")
            .mapped("body")
        )

    @contextmanager
    def frozen_now(self, moment):
        """Freeze ``fields.Datetime.now`` and the cursor's ``now``."""
        with patch.object(self.env.cr, "now", lambda: moment), freeze_time(moment):
            yield

    @classmethod
    def mute_automatic_answers(cls):
        """No courtesy reply and no keyword rule (the demo data's and other features'
        switched off): an inbound SMS gets only the answers the test sets up."""
        cls.company.sms_courtesy_reply = False
        cls.env["sms.keyword.rule"].search([]).active = False


class SmsJourneyCase(SmsJourneyMixin, TransactionCase):
    pass


class SmsJourneyHttpCase(SmsJourneyMixin, HttpCase):
    pass


class SmsJourneyVonageHttpCase(SmsJourneyHttpCase):
    """The same base on a Vonage gateway and a Vonage-format loopback provider."""

    provider_server_class = VonageFormatServer
    gateway_code = "vonage"

    @classmethod
    def _gateway_values(cls):
        values = super()._gateway_values()
        values.update(signature_secret=cls.provider.signature_secret, sender="Acme")
        return values


__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "SmsJourneyCase",
    "SmsJourneyHttpCase",
    "SmsJourneyMixin",
    "SmsJourneyVonageHttpCase",
    "VonageFormatServer",
]


class PartnerActivityMixin:
    """Contacts with orders confirmed at chosen moments, and their customer facts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"sms_inactivity_days": 90, "sms_loyalty_window_days": 365})
        cls.product = cls.env["product.product"].create({"name": "Widget", "list_price": 10.0})
        cls.Partner = cls.env["res.partner"]

    def order(self, partner, confirm_at=None):
        """A quote for ``partner``; confirmed at ``confirm_at`` when given."""
        order = self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [Command.create({"product_id": self.product.id})],
            }
        )
        if confirm_at:
            with self.frozen_now(confirm_at):
                order.action_confirm()
        return order

    def reset_facts(self, partners):
        """Forget the facts, as on a database where the history predates the module."""
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE res_partner SET first_order_date = NULL, last_order_date = NULL,
                      last_interaction_date = NULL, last_activity_date = NULL,
                      journey_stage = 'first_contact'
                WHERE id = ANY(%s)""",
            [partners.ids],
        )
        self.env.invalidate_all()


def new_sms_mailing(env, body, partners=None, name="Promo", model="res.partner", **values):
    """An SMS mailing of ``body`` on ``model`` (to ``partners`` when given), as a user
    makes one in Email Marketing; ``values`` add to or override its fields."""
    vals = {
        "name": name,
        "subject": name,
        "mailing_type": "sms",
        "body_plaintext": body,
        "mailing_model_id": env["ir.model"]._get_id(model),
    }
    if partners is not None:
        vals["mailing_domain"] = repr([("id", "in", partners.ids)])
    return env["mailing.mailing"].create({**vals, **values})


def new_partner_template(env, name, body, **values):
    """An SMS template of ``body`` on contacts; ``values`` add to or override its fields."""
    return env["sms.template"].create(
        {"name": name, "model_id": env["ir.model"]._get_id("res.partner"), "body": body, **values}
    )


def new_product_template(env, name, text):
    """A marketing template of the behaviour triggers: the contact's name, ``text``
    (with ``{{ product }}``), then ``{{ landing_url }}``."""
    body = f"{{{{ object.name }}}}, {text} {{{{ landing_url }}}}"
    return new_partner_template(env, name, body, sms_kind="marketing")


def new_segment_journey(env, name, template, **values):
    """A journey on a segment whose one step texts ``template``; ``values`` add to or
    override its fields."""
    return env["sms.journey"].create(
        {
            "name": name,
            "trigger": "segment",
            "step_ids": [Command.create({"template_id": template.id})],
            **values,
        }
    )


def marketing_preview(env, partners):
    """Start a marketing journey ("Spring sale", one SMS) on ``partners`` and return its
    computed preview: what the policy, prices and legal windows make of each of them."""
    template = new_partner_template(env, "Sale", "Spring sale: 20% off")
    journey = new_segment_journey(
        env,
        "Spring sale",
        template,
        sms_kind="marketing",
        audience_domain=f"[('id', 'in', {partners.ids})]",
    )
    journey.action_start()
    preview = env["sms.journey.preview"].create({"journey_id": journey.id})
    preview.action_compute()
    return preview


def new_other_company_user(env, login, groups="sms_journey.group_sms_journey_user"):
    """A user of a new company only, with ``groups``: what the multi-company rules must
    keep away from the main company's records."""
    other = env["res.company"].create({"name": "Other company"})
    return new_test_user(
        env, login=login, groups=groups, company_id=other.id, company_ids=[(6, 0, other.ids)]
    )


class CompanyActors:
    """Another company and its SMS staff: what the company rules must keep away from the
    main company's records (``new_company_actors``)."""

    def __init__(self, company, sms_user, sms_manager):
        self.company = company
        self.sms_user = sms_user
        self.sms_manager = sms_manager

    def users(self):
        """(label, user) of each actor, lowest rights first."""
        return [("SMS user", self.sms_user), ("SMS manager", self.sms_manager)]


def new_company_actors(env, prefix="other"):
    """A new company with its own SMS user and SMS manager (users of that company only)."""
    company = env["res.company"].create({"name": f"{prefix.title()} company"})

    def user(login, groups):
        return new_test_user(
            env,
            login=login,
            groups=groups,
            name=login.replace("_", " ").title(),
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

    return CompanyActors(
        company,
        user(f"{prefix}_sms_user", "sms_journey.group_sms_journey_user"),
        user(f"{prefix}_sms_manager", "sms_journey.group_sms_journey_manager"),
    )


def new_sms_user(env, login, groups="sms_journey.group_sms_journey_user"):
    """A user of the main company with ``groups`` only (the SMS user group by default):
    tests run with the lowest rights that the feature needs."""
    return new_test_user(env, login=login, groups=groups, name=login.title())


class SmsResultsAssertions:
    """Assertions on the figures of SMS programs (``sms.result.mixin``)."""

    FIGURE_FIELDS = {
        "sent": "sent_count",
        "delivered": "delivered_count",
        "failed": "failed_count",
        "canceled": "canceled_count",
        "clicked": "clicked_count",
        "clicks": "click_total",
        "replied": "replied_count",
        "opted_out": "opted_out_count",
        "orders": "order_count",
        "revenue": "revenue",
        "cost": "cost",
    }

    def refresh_results(self):
        """Rebuild the stored results (``sms.result.snapshot``), as the cron does: the
        SMS figures and the reports count what happened until now."""
        self.env["sms.result.snapshot"]._refresh()
        self.env.invalidate_all()

    def assertFigures(self, record, refresh=True, **expected):
        """``record``'s figures are exactly ``expected`` (names of ``tools.results.Figures``;
        those not given must be zero), after a refresh of the stored results unless
        ``refresh`` is false."""
        if refresh:
            self.refresh_results()
        record.invalidate_recordset()
        got = {name: record[field] for name, field in self.FIGURE_FIELDS.items()}
        want = {name: expected.get(name, 0) for name in self.FIGURE_FIELDS}
        for name in ("revenue", "cost"):
            got[name] = round(got[name], 5)
            want[name] = round(want[name], 5)
        self.assertEqual(got, want, f"figures of {record.display_name}")

    def assertAttributed(self, order, source, kind, at):
        """``order`` is attributed to ``source`` (a journey trace or a mailing trace) by a
        ``kind`` touch at ``at``."""
        if source._name == "sms.journey.trace":
            self.assertEqual(order.sms_journey_trace_id, source)
            self.assertEqual(order.sms_journey_id, source.journey_id)
            self.assertFalse(order.sms_mailing_trace_id)
        else:
            self.assertEqual(order.sms_mailing_trace_id, source)
            self.assertEqual(order.sms_mailing_id, source.mass_mailing_id)
            self.assertFalse(order.sms_journey_trace_id)
        self.assertEqual((order.sms_attribution_kind, order.sms_attribution_at), (kind, at))


class JsonRpcActorMixin:
    """For an HttpCase acting as a real user the way the web client does: log in over
    JSON-RPC (``/web/session/authenticate``; ``new_test_user`` gives each user its login
    as password), then call models with ``/web/dataset/call_kw`` in that session."""

    def jsonrpc(self, route, params=None):
        """POST a JSON-RPC call to ``route``; returns ``(result, error)``, ``error``
        being the error's ``data`` (``name``, ``message``) or None. Never a 500."""
        self.env.flush_all()  # the request runs on the test's transaction
        response = self.url_open(
            route,
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 0, "params": params or {}}),
            headers={"Content-Type": "application/json"},
        )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 200, f"{route} answered {response.status_code}")
        answer = response.json()
        error = answer.get("error")
        return answer.get("result"), error and error.get("data", error)

    def login_jsonrpc(self, user):
        """Log ``user`` in over JSON-RPC in a new session; returns its session info."""
        self.authenticate(None, None)  # a fresh anonymous session on the test database
        self.env.flush_all()
        response = self.url_open(
            "/web/session/authenticate",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 0,
                    "params": {"db": get_db_name(), "login": user.login, "password": user.login},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.env.invalidate_all()
        answer = response.json()
        self.assertFalse(answer.get("error"), f"{user.login} could not log in: {answer}")
        info = answer["result"]
        # Logging in rotates the session: use the new one, as a browser would (the
        # test's own cookie would otherwise win over the server's, see HttpCase)
        sid = response.cookies["session_id"]
        del self.opener.cookies["session_id"]
        self.opener.cookies["session_id"] = sid
        self.session = http.root.session_store.get(sid)
        self.assertEqual(info["uid"], user.id)
        return info

    def call_kw(self, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` as the logged-in user, over JSON-RPC."""
        return self.jsonrpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )


def assert_same_message(case, ours, odoos):
    """``ours``, a chatter message our batch paths write (``mail.thread``'s
    ``_sms_journey_log_batch``, ``_sms_journey_post_batch``), holds what Odoo's own path
    wrote in ``odoos``, column for column (but ids, message-id and dates)."""
    case.env.flush_all()
    skip = {"id", "message_id", "date", "create_date", "write_date"}
    columns = [
        name
        for name, field in ours._fields.items()
        if field.store and field.column_type and name not in skip
    ]
    case.env.invalidate_all()
    case.assertEqual(ours.read(columns)[0] | {"id": 0}, odoos.read(columns)[0] | {"id": 0})


class JourneyCaseMixin:
    """Helpers to build journeys and to run the two crons at frozen times."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner._sms_consent_set("opted_in", "api", "test")
        cls.tpl_hello = new_partner_template(cls.env, "Hello", "Hello {{ object.name }}")
        cls.tpl_link = new_partner_template(
            cls.env, "Link", "Hi {{ object.name }}, see https://shop.example.com/promo?x=1"
        )

    def make_partner(self, name, mobile, tz="Europe/Rome", consent=True, **vals):
        partner = self.env["res.partner"].create(
            dict(
                {
                    "name": name,
                    "mobile": mobile,
                    "tz": tz,
                    "country_id": self.env.ref("base.it").id,
                },
                **vals,
            )
        )
        if consent:
            partner._sms_consent_set("opted_in", "api", "test")
        return partner

    def make_partners(self, count):
        """``count`` Italian contacts with a mobile, opted in."""
        partners = self.env["res.partner"].create(
            [
                {
                    "name": f"P{i}",
                    "mobile": f"+39 333 000 {i:04d}",
                    "country_id": self.env.ref("base.it").id,
                }
                for i in range(count)
            ]
        )
        for partner in partners:
            partner._sms_consent_set("opted_in", "api", "test")
        return partners

    def make_journey(self, steps, **vals):
        values = {
            "name": "Test journey",
            "trigger": "segment",
            "sms_kind": "marketing",
            "audience_domain": f"[('id', 'in', {self.partner.ids})]",
            "step_ids": [
                (0, 0, dict({"sequence": i * 10}, **step)) for i, step in enumerate(steps)
            ],
        }
        values.update(vals)
        return self.env["sms.journey"].create(values)

    def sms_step(self, template=None, wait=0, unit="days", **vals):
        return dict(
            {
                "action": "sms",
                "template_id": (template or self.tpl_hello).id,
                "wait_amount": wait,
                "wait_unit": unit,
            },
            **vals,
        )

    def add_path(self, branch, side, steps):
        """Create ``steps`` (dicts) as the ``side`` path of the branch step ``branch``."""
        return self.env["sms.journey.step"].create(
            [
                dict(
                    {"sequence": (i + 1) * 10},
                    journey_id=branch.journey_id.id,
                    parent_id=branch.id,
                    branch_side=side,
                    **step,
                )
                for i, step in enumerate(steps)
            ]
        )

    def run_crons(self, moment):
        with self.frozen_now(moment):
            self.env["sms.journey"]._cron_enrol()
            # the cron runs again while steps are due (``_notify_progress``)
            for _i in range(20):
                if not self.env["sms.journey.participant"]._cron_execute_due():
                    break
        self.env.invalidate_all()

    def shipped(self, xmlid, partners):
        """A shipped journey, back in draft and limited to ``partners`` (the demo data
        may have started it and holds contacts of its own)."""
        journey = self.env.ref(xmlid)
        journey.participant_ids.unlink()
        journey.write(
            {
                "state": "draft",
                "date_start": False,
                "enrol_checked_at": False,
                "audience_domain": f"[('id', 'in', {partners.ids})]",
            }
        )
        return journey

    def traces(self, journey, **filters):
        domain = [("journey_id", "=", journey.id)]
        domain += [(k, "=", v) for k, v in filters.items()]
        return self.env["sms.journey.trace"].search(domain, order="id")

    def click(self, trace):
        code, trace_id, signature = LINK.search(trace.body).groups()
        self.env["link.tracker.click"].sudo().add_click(
            code, sms_journey_trace_id=int(trace_id), sms_journey_signature=signature
        )
        self.env.invalidate_all()


class LandingMixin(JourneyCaseMixin):
    """Journey helpers plus a landing-page template and a one-question public survey."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tpl_landing = new_partner_template(
            cls.env, "Landing", "Hi {{ object.name }}, have a look: {{ landing_url }}"
        )
        cls.survey = cls.env["survey.survey"].create(
            {
                "title": "Would you recommend us?",
                "access_mode": "public",
                "questions_layout": "one_page",
                "scoring_type": "scoring_without_answers",
                "question_and_page_ids": [
                    (
                        0,
                        0,
                        {
                            "title": "Would you recommend us to a friend?",
                            "question_type": "simple_choice",
                            "constr_mandatory": True,
                            "suggested_answer_ids": [
                                (0, 0, {"value": "Surely", "answer_score": 10, "is_correct": True}),
                                (0, 0, {"value": "Hardly", "answer_score": 0}),
                            ],
                        },
                    )
                ],
            }
        )
        cls.question = cls.survey.question_ids
        cls.surely, cls.hardly = cls.question.suggested_answer_ids

    def link_of(self, trace):
        """(path of the short link in the trace's SMS, the URL its tracker leads to)."""
        code, trace_id, signature = LINK.search(trace.body).groups()
        url = self.env["link.tracker"].get_url_from_code(code)
        return f"/r/{code}/j/{trace_id}/{signature}", url

    def answer(self, partner, choice):
        """``partner`` completes the survey with ``choice`` (as the survey's pages do)."""
        answer = self.survey._create_answer(partner=partner, check_attempts=False)
        answer._save_lines(self.question, choice.id)
        answer._mark_done()
        return answer


class ShopViewsMixin(LandingMixin):
    """Landing helpers plus two published products, a product template, and a shop's
    page views and carts: the behaviour triggers' tests (browse abandonment, price
    drop)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tpl_product = new_product_template(
            cls.env, "Viewed product", "still thinking about {{ product }}?"
        )
        Product = cls.env["product.product"]
        cls.shoes = Product.create({"name": "Trail shoes", "list_price": 100, "is_published": True})
        cls.hat = Product.create({"name": "Sun hat", "list_price": 100, "is_published": True})

    def behaviour_journey(self, trigger, partners, **values):
        step = self.sms_step(self.tpl_product, unit="hours", landing_type="product")
        return self.make_journey(
            [step],
            trigger=trigger,
            audience_domain=f"[('id', 'in', {partners.ids})]",
            **values,
        )

    def view(self, partner, product, at):
        """``partner``, signed in on the shop, views ``product``'s page at ``at``."""
        Visitor = self.env["website.visitor"].sudo()
        visitor = Visitor.search([("access_token", "=", str(partner.id))]) or Visitor.create(
            {"access_token": str(partner.id)}
        )
        self.assertEqual(visitor.partner_id, partner)
        with self.frozen_now(at):
            self.env["website.track"].sudo().create(
                {"visitor_id": visitor.id, "product_id": product.id, "visit_datetime": at}
            )

    def add_to_cart(self, partner, product, at):
        with self.frozen_now(at):
            self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "website_id": self.env["website"].search([], limit=1).id,
                    "order_line": [(0, 0, {"product_id": product.id})],
                }
            )


class TwoWayCommon(SmsJourneyHttpCase):
    """Replies through the real inbound route: a salesperson, a courtesy reply, keyword
    rules made on demand (the demo data's rules switched off) and reply templates."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls.env["res.users"].create(
            {
                "name": "Sandro Sales",
                "login": "sandro.two_way",
                "email": "sandro@acme.test",
                "groups_id": [
                    Command.link(cls.env.ref("base.group_user").id),
                    Command.link(cls.env.ref("sms_journey.group_sms_journey_user").id),
                ],
            }
        )
        cls.partner.user_id = cls.salesman
        cls.company.sms_courtesy_reply = "Acme: thanks, we got your message."
        cls.price_template = new_partner_template(
            cls.env, "Price", "Hi {{ object.name }}, the price is 10 EUR."
        )
        cls.promo_template = new_partner_template(cls.env, "Promo", "Promo for {{ object.name }}!")
        cls.tag = cls.env["res.partner.category"].create({"name": "Interested"})
        # Rules of the demo data or of other features must not interfere.
        cls.env["sms.keyword.rule"].search([]).active = False

    def rule(self, keywords, mode="first_word", actions=None, **values):
        return self.env["sms.keyword.rule"].create(
            {
                "name": keywords,
                "keywords": keywords,
                "match_mode": mode,
                "action_ids": [Command.create(vals) for vals in (actions or [])],
                **values,
            }
        )

    def reply_rule(self, keywords, mode="first_word", template=None, **values):
        template = template or self.price_template
        return self.rule(keywords, mode, [{"type": "reply", "template_id": template.id}], **values)

    def reply(self, body, sender=NUMBER, message_id=None):
        status, _text = self.post_inbound(body, sender=sender, message_id=message_id)
        self.assertEqual(status, 200)
        return self.env["sms.interaction"].search([("body", "=", body)], order="id desc", limit=1)

    def answers(self, number=NUMBER):
        """Bodies of what we queued to ``number``, oldest first."""
        return self.outbox(number=number).mapped("body")

    def send_and_dispatch(self, body="Your order shipped", template=None):
        if template:
            self.partner._message_sms_with_template(template=template, partner_ids=self.partner.ids)
        else:
            self.partner._message_sms(body, partner_ids=self.partner.ids)
        message = self.outbox(partner_id=self.partner.id)[-1:]
        self.dispatch()
        self.assertEqual(message.state, "sent")
        return message

    def journey_reply_setup(self):
        """A running journey whose last SMS to the partner is traced."""
        if "sms.journey" not in self.env:
            self.skipTest("journeys are not installed")
        journey = self.env["sms.journey"].create({"name": "Welcome"})
        self.env["sms.journey.step"].create({"journey_id": journey.id})
        participant = self.env["sms.journey.participant"].create(
            {"journey_id": journey.id, "partner_id": self.partner.id, "key": "test"}
        )
        outbox = self.send_and_dispatch("Welcome! Reply YES")
        self.env["sms.journey.trace"].create(
            {
                "participant_id": participant.id,
                "journey_id": journey.id,
                "partner_id": self.partner.id,
                "sms_uuid": outbox.sms_uuid,
                "outbox_message_id": outbox.id,
                "action": "sms",
                "state": "sent",
            }
        )
        return journey


def load_migration(version, stage="pre"):
    """The module of ``migrations/<version>/<stage>-migrate.py`` (not importable by name:
    the folder is a version number), to call its ``migrate(cr, version)`` in a test."""
    path = Path(__file__).parents[1] / "migrations" / version / f"{stage}-migrate.py"
    name = f"sms_journey_migration_{version.replace('.', '_')}_{stage}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PHONE_BROWSER = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) TestPhone"}
REPLY_LINK = re.compile(r"https?://[^\s/]+(/o/[a-z0-9.]+)")


class ReplyLinkMixin:
    """An alphanumeric sender serving Italy (one-way: its SMS carry reply links) and a
    public visitor following the links (``controllers/reply_links.py``)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alpha = cls.env["sms.gateway.sender"].create(
            {
                "gateway_id": cls.gateway.id,
                "kind": "alphanumeric",
                "value": "AcmeShop",
                "country_ids": [Command.set(cls.env.ref("base.it").ids)],
            }
        )

    def setUp(self):
        super().setUp()
        from ..controllers.reply_links import LIMITER

        LIMITER._hits.clear()  # each test starts with the whole allowance

    def reply_links(self, row):
        """The paths of the reply links in the body of outbox ``row``, in order."""
        return REPLY_LINK.findall(row.body)

    def open_link(self, path):
        """GET the page as a visitor without login: (status, page text)."""
        self.env.flush_all()
        response = self.url_open(path, allow_redirects=False, headers=PHONE_BROWSER)
        self.env.invalidate_all()
        return response.status_code, response.text

    def answer_link(self, path, answer, csrf_from=None):
        """Open the page (or ``csrf_from``'s), then press the button ``answer`` with the
        form's CSRF token: (status, page text)."""
        _status, page = self.open_link(csrf_from or path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        token = match.group(1) if match else ""
        self.env.flush_all()
        response = self.url_open(
            path,
            data={"answer": answer, "csrf_token": token},
            allow_redirects=False,
            headers=PHONE_BROWSER,
        )
        self.env.invalidate_all()
        return response.status_code, response.text


class AppointmentMixin:
    """The C / A / R keyword rules switched on and an SMS alarm of calendar_sms with the
    appointment reminder template (``cls.alarm``)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for answer in ("confirm", "cancel", "reschedule"):
            cls.env.ref(f"sms_journey.sms_keyword_rule_appointment_{answer}").active = True
        cls.alarm = cls.env["calendar.alarm"].create(
            {
                "name": "SMS, 1 day before",
                "alarm_type": "sms",
                "duration": 1,
                "interval": "days",
                "sms_template_id": cls.env.ref("sms_journey.sms_template_appointment_reminder").id,
            }
        )

    def send_reminder(self, name, start):
        """An appointment of the partner with the salesman, and its SMS reminder sent by
        calendar_sms: (event, outbox row of the reminder, sent)."""
        event = self.env["calendar.event"].create(
            {
                "name": name,
                "start": start,
                "stop": start + timedelta(hours=1),
                "user_id": self.salesman.id,
                "partner_ids": [Command.set((self.salesman.partner_id | self.partner).ids)],
                "alarm_ids": [Command.link(self.alarm.id)],
            }
        )
        event._do_sms_reminder(self.alarm)
        self.dispatch()
        reminder = self.outbox(partner_id=self.partner.id)[-1:]
        self.assertEqual(reminder.state, "sent")
        return event, reminder

    def attendee(self, event):
        return event.attendee_ids.filtered(lambda a: a.partner_id == self.partner)


def operations(kinds, indexes, hours):
    """A hypothesis strategy of one operation of a property test of kept sums: (kind,
    which record, hours after the start, a flag)."""
    return st.tuples(
        st.sampled_from(kinds), st.integers(0, indexes), st.integers(0, hours), st.booleans()
    )


def property_settings(examples):
    """The settings of a property test in an Odoo test: replayable, no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


@contextmanager
def rolled_back(env):
    """Run one hypothesis example, then undo it: each example from the same start, so
    that a failing one replays."""
    env.cr.execute("SAVEPOINT property_example")
    try:
        yield
    finally:
        env.cr.execute("ROLLBACK TO SAVEPOINT property_example")
        env.invalidate_all()
        env.registry.clear_cache()
