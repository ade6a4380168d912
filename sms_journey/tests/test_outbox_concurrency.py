"""Parallel workers and crashes, with real transactions.

These tests commit through their own cursors (the test transaction can't see other
transactions) and clean up what they committed.
"""

import subprocess
import sys
import textwrap
import uuid
from contextlib import ExitStack
from datetime import timedelta

import odoo
from odoo import api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tools import config

from ..tools.gateways.loopback import TwilioFormatServer
from .common import ACCOUNT_SID, AUTH_TOKEN


@tagged("post_install", "-at_install")
class TestOutboxConcurrency(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(odoo.tests.get_db_name())
        cls.provider = TwilioFormatServer(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
        cls.provider.start()
        cls.addClassCleanup(cls.provider.stop)

    def setUp(self):
        super().setUp()
        self.provider.reset()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            gateway = env["sms.gateway"].create(
                {
                    "name": f"Concurrency {uuid.uuid4().hex[:6]}",
                    "code": "sandbox",
                    "api_url": self.provider.url,
                    "account_sid": ACCOUNT_SID,
                    "auth_token": AUTH_TOKEN,
                    "sender": "+15005550006",
                    "rate_limit": 500,
                    "max_concurrency": 4,
                }
            )
            self.gateway_id = gateway.id
            self.message_ids = (
                env["sms.gateway.message"]
                .create(
                    [
                        {
                            "sms_uuid": uuid.uuid4().hex,
                            "gateway_id": gateway.id,
                            "number": f"+3933312345{i:02d}",
                            "body": f"Message {i}",
                            "due_at": odoo.fields.Datetime.now() - timedelta(minutes=1),
                        }
                        for i in range(6)
                    ]
                )
                .ids
            )
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM sms_gateway_message WHERE gateway_id = %s", [self.gateway_id])
            cr.execute("DELETE FROM sms_gateway WHERE id = %s", [self.gateway_id])

    def _env(self, stack):
        cr = stack.enter_context(self.registry.cursor())
        return api.Environment(cr, odoo.SUPERUSER_ID, {})

    def test_two_workers_never_claim_the_same_message(self):
        with ExitStack() as stack:
            env1, env2 = self._env(stack), self._env(stack)
            first = env1["sms.gateway.message"]._claim_due(4)
            second = env2["sms.gateway.message"]._claim_due(10)  # while the first holds its rows
            self.assertEqual(len(first), 4)
            self.assertEqual(len(second), 2)
            self.assertFalse(set(first.ids) & set(second.ids))
            env1.cr.rollback()
            env2.cr.rollback()

    def test_a_lane_whose_rows_another_lane_claimed_meanwhile_logs_no_error(self):
        """Two dispatch lanes on one backlog: the second began its transaction before the
        first committed its claim. Its claim takes nothing and raises nothing (it was a
        "could not serialize access" ERROR with a traceback), and every SMS goes once."""
        with ExitStack() as stack:
            late, early = self._env(stack), self._env(stack)
            # the late lane's snapshot is taken now, before the early lane's claim
            late.cr.execute("SELECT count(*) FROM sms_gateway_message")
            claimed = early["sms.gateway.message"]._claim_due(10)
            early.cr.commit()
            self.assertEqual(len(claimed), 6)
            with self.assertNoLogs("odoo.sql_db", level="ERROR"):
                self.assertFalse(late["sms.gateway.message"]._claim_due(10))
            late.cr.rollback()
            early["sms.gateway.message"].browse(claimed.ids)._send_claimed(
                early["sms.gateway"].browse(self.gateway_id)
            )
            early.cr.commit()
        self.assertEqual(
            sorted(m["body"] for m in self.provider.messages), [f"Message {i}" for i in range(6)]
        )

    def test_crash_between_request_and_commit_loses_nothing_and_sends_once(self):
        """A worker process dies right after the provider answered: nothing resent."""
        script = textwrap.dedent(
            f"""
            import os, sys
            sys.path.insert(0, {odoo.__path__[0].rsplit("/", 1)[0]!r})
            import odoo
            from odoo.tools import config
            config.parse_config(["-d", {self.registry.db_name!r},
                                 "--addons-path={config["addons_path"]}",
                                 "--log-level=warn"])
            from odoo.addons.sms_journey.models import sms_gateway_message_dispatch

            def killed(self, results):
                os._exit(9)  # after the requests, before their results are committed

            sms_gateway_message_dispatch.SmsGatewayMessage._apply_send_results = killed
            registry = odoo.modules.registry.Registry({self.registry.db_name!r})
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {{}})
                env["sms.gateway.message"]._cron_dispatch()
            """
        )
        worker = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        self.assertEqual(worker.returncode, 9, worker.stderr[-2000:])
        self.assertEqual(len(self.provider.messages), 6)

        with ExitStack() as stack:
            env = self._env(stack)
            messages = env["sms.gateway.message"].browse(self.message_ids)
            self.assertEqual(set(messages.mapped("state")), {"sending"})  # the claim survived
            env["sms.gateway.message"]._cron_reconcile(stale_after=timedelta(0))
            self.assertEqual(set(messages.mapped("state")), {"sent"})
            self.assertTrue(all(messages.mapped("provider_message_id")))
            env["sms.gateway.message"]._cron_dispatch()
        self.assertEqual(len(self.provider.messages), 6)  # no duplicate
        self.assertEqual(
            sorted(m["body"] for m in self.provider.messages), [f"Message {i}" for i in range(6)]
        )
