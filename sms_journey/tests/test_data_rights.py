import base64
import csv
import io
import json
import zipfile
from datetime import datetime

from dateutil.relativedelta import relativedelta

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import SQL

from ..tools.data_rights import ERASED, is_hashed
from .common import (
    SmsJourneyCase,
    SmsJourneyHttpCase,
    SmsResultsAssertions,
    new_other_company_user,
    new_sms_user,
)

NUMBER = "+393331234567"
T0 = datetime(2026, 3, 2, 10, 0)
MANAGER_GROUPS = "base.group_user,sms_journey.group_sms_journey_manager"

# where a contact's SMS texts and numbers live: (table, columns)
SMS_COLUMNS = [
    ("sms_gateway_message", ["number", "body"]),
    ("sms_sms", ["number", "body"]),
    ("sms_interaction", ["number", "body", "media_urls"]),
    ("sms_inbound_part", ["sender", "body"]),
    ("sms_journey_trace", ["body", "reply_body"]),
    ("sms_consent_log", ["number", "proof"]),
    ("sms_survey_request", ["number"]),
    ("sms_contest_entry", ["number"]),
    ("mail_message", ["body"]),
    ("mail_notification", ["sms_number"]),
]


class DataRightsMixin:
    """A contact with SMS traffic: a web opt-in with its proof, a journey SMS, a reply,
    a part of a long SMS known only by its number."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mute_automatic_answers()
        cls.journey = cls.env["sms.journey"].create({"name": "Cart reminder"})
        cls.manager = new_sms_user(cls.env, "gdpr_manager", groups=MANAGER_GROUPS)

    def traffic(self):
        self.partner._sms_consent_set(
            "opted_in", "web_form", proof="IP 203.0.113.7, Mozilla/5.0 (X11; Linux)"
        )
        outbox = self.send_on(self.partner, "Your cart is waiting, Giulia", journey=self.journey)
        self.receive("Ciao, is the red dress still there?", sender=NUMBER)
        self.env["sms.inbound.part"].create(
            {
                "gateway_id": self.gateway.id,
                "sender": NUMBER,
                "reference": "A1",
                "part_number": 1,
                "part_total": 2,
                "body": "Half of a long reply",
                "received_at": T0,
            }
        )
        return outbox


@tagged("post_install", "-at_install")
class TestDataRights(DataRightsMixin, SmsJourneyCase):
    """Export and erasure of a contact's SMS data (GDPR art. 15 and 17)."""

    def export(self, user):
        action = self.partner.with_user(user).action_sms_export_data()
        self.assertEqual(action["type"], "ir.actions.act_url")
        attachment_id = int(action["url"].split("/")[3].split("?")[0])
        attachment = self.env["ir.attachment"].with_user(user).browse(attachment_id)
        return attachment, zipfile.ZipFile(io.BytesIO(base64.b64decode(attachment.datas)))

    def test_export_holds_consent_sms_and_journeys(self):
        self.traffic()
        attachment, archive = self.export(self.manager)

        def json_of(name):
            return json.loads(archive.read(f"{name}.json"))

        def csv_of(name):
            return list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode())))

        (opt_in,) = (row for row in json_of("consent_log") if row["action"] == "opted_in")
        self.assertIn("203.0.113.7", opt_in["proof"])
        self.assertIn(
            "Your cart is waiting, Giulia", [row["body"] for row in json_of("sms_outbox")]
        )
        self.assertIn(
            "Ciao, is the red dress still there?", [r["body"] for r in csv_of("sms_received")]
        )
        (participant,) = json_of("journeys")
        self.assertEqual(participant["journey_id"][1], "Cart reminder")
        self.assertEqual(len(csv_of("journey_traces")), 1)
        # matched by the number alone
        self.assertEqual(
            [r["body"] for r in csv_of("sms_received_parts")], ["Half of a long reply"]
        )
        # the export is logged, and its zip readable by SMS managers only
        log = self.env["sms.data.rights.log"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual((log.kind, log.user_id), ("export", self.manager))
        employee = new_sms_user(self.env, "gdpr_employee", groups="base.group_user")
        sms_user = new_sms_user(self.env, "gdpr_sms_user")
        for user in (employee, sms_user):
            with self.assertRaises(AccessError):
                attachment.with_user(user).datas  # noqa: B018

    def test_erase_leaves_no_text_nor_number_but_the_opt_out_proof(self):
        self.traffic()
        self.receive("STOP", sender=NUMBER)
        running = self.env["sms.journey.participant"].create(
            {"journey_id": self.journey.id, "partner_id": self.partner.id, "key": "second"}
        )
        neighbour = self.env["res.partner"].create({"name": "Marco", "mobile": "+39 333 765 4321"})
        kept = self.send_on(neighbour, "Hello Marco", partner=neighbour)
        self.partner.with_user(self.manager).action_sms_erase_data()
        self.env.flush_all()
        self.assertEqual((kept.body, kept.number), ("Hello Marco", "+393337654321"))

        for table, columns in SMS_COLUMNS:
            for column in columns:
                for needle in (NUMBER[1:], "333 123 4567", "cart is waiting", "red dress",
                               "Half of a long", "203.0.113.7"):  # fmt: skip
                    found = self.env.execute_query(
                        SQL(
                            "SELECT COUNT(*) FROM %s WHERE %s::text LIKE %s",
                            SQL.identifier(table),
                            SQL.identifier(column),
                            f"%{needle}%",
                        )
                    )[0][0]
                    self.assertFalse(found, f"{table}.{column} still holds {needle!r}")
        outbox = self.outbox(partner_id=self.partner.id)
        self.assertEqual(set(outbox.mapped("body")), {ERASED})
        self.assertTrue(all(is_hashed(number) for number in outbox.mapped("number")))
        # the opt-out stays provable from the number presented, with its date and scope
        number_hash = self.env["sms.data.rights"]._number_hash(NUMBER)
        opt_out = self.env["sms.consent.log"].search(
            [("number", "=", number_hash), ("action", "=", "opted_out")]
        )
        self.assertEqual(opt_out.scope, "all")
        self.assertTrue(opt_out.date)
        self.assertFalse(opt_out.proof)
        self.assertEqual(running.state, "exited")
        self.assertTrue(running.exit_reason)
        log = self.env["sms.data.rights.log"].search([("kind", "=", "erase")])
        self.assertEqual(log.user_id, self.manager)
        self.assertIn("sms.interaction: 2", log.summary)

    def test_other_company_manager_sees_and_erases_none_of_ours(self):
        outbox = self.traffic()
        other = new_other_company_user(self.env, "gdpr_other", groups=MANAGER_GROUPS)
        _attachment, archive = self.export(other)
        self.assertEqual(json.loads(archive.read("sms_outbox.json")), [])
        self.assertEqual(json.loads(archive.read("sms_received.json")), [])
        self.partner.with_user(other).action_sms_erase_data()
        outbox.invalidate_recordset()
        self.assertEqual(outbox.body, "Your cart is waiting, Giulia")

    def test_actions_refused_below_sms_manager(self):
        sms_user = new_sms_user(self.env, "gdpr_sms_user")
        for method in ("action_sms_export_data", "action_sms_erase_data"):
            with self.assertRaises(AccessError):
                getattr(self.partner.with_user(sms_user), method)()


@tagged("post_install", "-at_install")
class TestDataRightsRpc(DataRightsMixin, SmsJourneyHttpCase):
    """Over JSON-RPC, as a plain employee and as an SMS user: refused."""

    def call(self, user, method):
        self.authenticate(user.login, user.login)
        response = self.url_open(
            f"/web/dataset/call_kw/res.partner/{method}",
            data=json.dumps(
                {
                    "id": 0,
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "model": "res.partner",
                        "method": method,
                        "args": [[self.partner.id]],
                        "kwargs": {"context": {"lang": "en_US"}},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()

    def test_refused_over_rpc(self):
        outbox = self.traffic()
        employee = new_sms_user(self.env, "gdpr_employee", groups="base.group_user")
        sms_user = new_sms_user(self.env, "gdpr_sms_user")
        for user in (employee, sms_user):
            for method in ("action_sms_export_data", "action_sms_erase_data"):
                answer = self.call(user, method)
                self.assertEqual(
                    answer.get("error", {}).get("data", {}).get("name"),
                    "odoo.exceptions.AccessError",
                    (user.login, method, answer),
                )
        outbox.invalidate_recordset()
        self.assertEqual(outbox.body, "Your cart is waiting, Giulia")
        self.assertFalse(self.env["sms.data.rights.log"].search([]))
        answer = self.call(self.manager, "action_sms_export_data")
        self.assertEqual(answer["result"]["type"], "ir.actions.act_url", answer)


@tagged("post_install", "-at_install")
class TestSmsRetention(DataRightsMixin, SmsResultsAssertions, SmsJourneyCase):
    """Texts older than the retention are erased in batches; recent ones and the results
    (counts, costs, states) stay."""

    def test_purge_old_texts_keeps_recent_and_counts(self):
        self.company.sms_retention_months = 24
        with self.frozen_now(T0):
            old = self.send_on(self.partner, "Old promo", journey=self.journey)
            self.receive("Old reply", sender=NUMBER)
        recent_at = T0 + relativedelta(months=20)
        with self.frozen_now(recent_at):
            recent = self.send_on(self.partner, "Recent promo", journey=self.journey)
            self.receive("Recent reply", sender=NUMBER)
        outbox = old | recent
        figures = outbox.read(["state", "segments", "cost"])
        traces = self.env["sms.journey.trace"].search([("journey_id", "=", self.journey.id)])
        trace_states = traces.mapped("state")
        replies = self.env["sms.interaction"].search([("number", "in", [NUMBER])])
        self.assertEqual(len(replies), 2)
        traces.filtered(lambda t: t.outbox_message_id == old).write({"body": "Old promo"})

        odoo_sms = self.env["sms.sms"].create(
            {"number": NUMBER, "body": "Old failed SMS", "state": "error"}
        )
        self.env.cr.execute(
            SQL("UPDATE sms_sms SET create_date = %s WHERE id = %s", T0, odoo_sms.id)
        )
        journey_fields = list(self.FIGURE_FIELDS.values())
        with self.frozen_now(T0 + relativedelta(months=25)):
            self.refresh_results()
            results = self.journey.read(journey_fields)
            purged = self.env["sms.data.rights"]._cron_purge_expired(batch_size=1)
            self.refresh_results()
            self.assertEqual(self.journey.read(journey_fields), results)
        self.assertEqual(self.journey.sent_count, 2)
        # the old outbox row, its reply, its trace's text, Odoo's failed SMS
        self.assertEqual(purged, 4)
        self.assertEqual(odoo_sms.body, ERASED)
        self.env.invalidate_all()
        self.assertEqual(old.body, ERASED)
        self.assertEqual(old.number, self.env["sms.data.rights"]._number_hash(NUMBER))
        self.assertEqual(recent.body, "Recent promo")
        self.assertEqual(recent.number, NUMBER)
        self.assertEqual(sorted(replies.mapped("body")), sorted([ERASED, "Recent reply"]))
        # results read rows, states and costs: all still there
        self.assertEqual(outbox.read(["state", "segments", "cost"]), figures)
        self.assertEqual(traces.mapped("state"), trace_states)
        self.assertEqual(self.env["sms.interaction"].search_count([("id", "in", replies.ids)]), 2)
        # nothing left to purge: a second run does nothing
        with self.frozen_now(T0 + relativedelta(months=25)):
            self.assertEqual(self.env["sms.data.rights"]._cron_purge_expired(), 0)
