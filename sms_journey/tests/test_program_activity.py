from datetime import date, datetime

from odoo.tests import tagged

from odoo.addons.website.tools import MockRequest

from .common import SmsJourneyCase, SmsJourneyHttpCase

T0 = datetime(2026, 3, 2, 9, 0)


class ActivityMixin:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "sms_inactivity_days": 90,
                "sms_activity_website_visits": True,
                "sms_activity_email_engagement": True,
            }
        )
        cls.website = cls.env["website"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.customer = cls.env["res.partner"].create(
            {"name": "Visiting Vera", "email": "vera@example.com", "company_id": cls.company.id}
        )
        cls.customer._sms_touch_interaction(datetime(2025, 11, 1, 10, 0))  # 121 days before T0

    def visit(self, partner, when):
        """``partner`` signed in views a tracked page at ``when`` (the visitor upsert
        the website runs for it)."""
        with self.frozen_now(when), MockRequest(self.env, website=self.website):
            self.env["website.visitor"]._upsert_visitor(str(partner.id), {"url": "/shop"})

    def mail_trace(self, partner=None, email=None):
        mailing = self.env["mailing.mailing"].create(
            {"subject": "News", "body_html": "<p>Hi</p>", "mailing_type": "mail"}
        )
        return self.env["mailing.trace"].create(
            {
                "mass_mailing_id": mailing.id,
                "trace_type": "mail",
                "model": "res.partner" if partner else "mailing.contact",
                "res_id": partner.id if partner else 1,
                "email": email or partner.email,
                "trace_status": "sent",
            }
        )


@tagged("post_install", "-at_install")
class TestActivityBeyondOrders(ActivityMixin, SmsJourneyCase):
    """Website visits and e-mail engagement are activity, each switchable per company."""

    def assertInactiveDays(self, partner, days):
        with self.frozen_now(T0):
            partner.invalidate_recordset(["days_inactive", "is_inactive"])
            self.assertEqual(partner.days_inactive, days)

    def test_a_signed_in_visit_resets_inactivity(self):
        self.assertInactiveDays(self.customer, 121)
        self.visit(self.customer, datetime(2026, 3, 1, 18, 0))
        self.assertEqual(self.customer.last_interaction_date, datetime(2026, 3, 1, 18, 0))
        self.assertEqual(self.customer.last_activity_date, date(2026, 3, 1))
        self.assertInactiveDays(self.customer, 1)
        visitor = self.env["website.visitor"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(len(visitor.website_track_ids), 1)

    def test_visits_write_once_per_hour_of_browsing(self):
        self.visit(self.customer, datetime(2026, 3, 1, 18, 0))
        self.visit(self.customer, datetime(2026, 3, 1, 18, 40))
        self.assertEqual(self.customer.last_interaction_date, datetime(2026, 3, 1, 18, 0))
        self.visit(self.customer, datetime(2026, 3, 1, 19, 5))
        self.assertEqual(self.customer.last_interaction_date, datetime(2026, 3, 1, 19, 5))

    def test_a_visit_of_the_commercial_partner_contact_counts_for_the_company(self):
        firm = self.env["res.partner"].create({"name": "Firm", "is_company": True})
        employee = self.env["res.partner"].create({"name": "Emp", "parent_id": firm.id})
        self.visit(employee, datetime(2026, 3, 1, 18, 0))
        self.assertEqual(firm.last_interaction_date, datetime(2026, 3, 1, 18, 0))

    def test_visits_switched_off_do_not_count(self):
        self.company.sms_activity_website_visits = False
        self.visit(self.customer, datetime(2026, 3, 1, 18, 0))
        self.assertEqual(self.customer.last_interaction_date, datetime(2025, 11, 1, 10, 0))
        self.assertInactiveDays(self.customer, 121)

    def test_engagement_moves_a_first_contact_to_orientation(self):
        lead = self.env["res.partner"].create({"name": "New", "email": "new@example.com"})
        self.assertEqual(lead.journey_stage, "first_contact")
        with self.frozen_now(T0):
            self.mail_trace(lead).set_opened()
        self.assertEqual(lead.journey_stage, "orientation")
        self.assertEqual(lead.last_interaction_date, T0)

    def test_email_open_click_and_reply_reset_inactivity(self):
        for method in ("set_opened", "set_clicked", "set_replied"):
            self.customer._sms_recompute_activity_facts([self.customer.id])
            self.env.cr.execute(
                "UPDATE res_partner SET last_interaction_date = %s, last_activity_date = %s"
                " WHERE id = %s",
                (datetime(2025, 11, 1, 10, 0), date(2025, 11, 1), self.customer.id),
            )
            self.customer.invalidate_recordset()
            with self.frozen_now(T0):
                getattr(self.mail_trace(self.customer), method)()
            self.assertEqual(self.customer.last_interaction_date, T0, method)
            self.assertInactiveDays(self.customer, 0)

    def test_mailing_contact_is_matched_by_email(self):
        with self.frozen_now(T0):
            self.mail_trace(email="Vera <VERA@example.com>").set_clicked()
        self.assertEqual(self.customer.last_interaction_date, T0)

    def test_email_engagement_switched_off_does_not_count(self):
        self.company.sms_activity_email_engagement = False
        with self.frozen_now(T0):
            self.mail_trace(self.customer).set_opened()
        self.assertEqual(self.customer.last_interaction_date, datetime(2025, 11, 1, 10, 0))

    def test_sms_traces_are_not_email_engagement(self):
        trace = self.mail_trace(self.customer)
        trace.trace_type = "sms"
        with self.frozen_now(T0):
            trace.set_clicked()
        self.assertEqual(self.customer.last_interaction_date, datetime(2025, 11, 1, 10, 0))

    def test_switching_on_counts_the_history(self):
        self.company.write(
            {"sms_activity_website_visits": False, "sms_activity_email_engagement": False}
        )
        self.visit(self.customer, datetime(2026, 2, 1, 18, 0))
        # the visitor upsert stamps the database's clock: set the visit's time
        visitor = self.env["website.visitor"].search([("partner_id", "=", self.customer.id)])
        visitor.last_connection_datetime = datetime(2026, 2, 1, 18, 0)
        trace = self.mail_trace(self.customer)
        with self.frozen_now(datetime(2026, 2, 20, 8, 0)):
            trace.set_opened()
        self.assertEqual(self.customer.last_interaction_date, datetime(2025, 11, 1, 10, 0))
        self.company.sms_activity_website_visits = True
        self.assertEqual(self.customer.last_interaction_date, datetime(2026, 2, 1, 18, 0))
        self.company.sms_activity_email_engagement = True
        self.assertEqual(self.customer.last_interaction_date, datetime(2026, 2, 20, 8, 0))

    def test_inactivity_journey_does_not_enrol_a_visitor(self):
        """The inactivity trigger reads the same fact: a visit keeps the contact out."""
        other = self.env["res.partner"].create({"name": "Quiet", "company_id": self.company.id})
        other._sms_touch_interaction(datetime(2025, 12, 2, 10, 0))  # 90 days before T0
        self.customer._sms_touch_interaction(datetime(2025, 12, 2, 10, 0))
        self.visit(self.customer, datetime(2026, 2, 28, 10, 0))
        until = date(2026, 3, 2).toordinal() - 90
        ids = self.env["res.partner"]._sms_inactive_crossing_ids(
            date.fromordinal(until - 1), date.fromordinal(until)
        )
        self.assertIn(other.id, ids)
        self.assertNotIn(self.customer.id, ids)


@tagged("post_install", "-at_install")
class TestActivityWebsiteVisitHttp(ActivityMixin, SmsJourneyHttpCase):
    """A real page view of a signed-in portal customer moves the fact."""

    # website pages run on a readonly cursor, which skips visitor tracking
    readonly_enabled = False

    def test_portal_customer_page_view(self):
        user = self.env["res.users"].create(
            {
                "name": "Vera portal",
                "login": "vera_portal",
                "password": "vera_portal",
                "partner_id": self.customer.id,
                "groups_id": [(6, 0, [self.env.ref("base.group_portal").id])],
            }
        )
        self.assertTrue(user)
        before = datetime.now().replace(microsecond=0)
        self.authenticate("vera_portal", "vera_portal")
        response = self.url_open("/contactus")
        self.assertEqual(response.status_code, 200)
        self.customer.invalidate_recordset()
        self.assertGreaterEqual(self.customer.last_interaction_date, before)


@tagged("post_install", "-at_install")
class TestMoveToActive(SmsJourneyCase):
    """ "Move to active" (a click of the reactivation, its set-active steps) sets a real
    stage: a contact below *interaction* reaches it, a loyal one keeps its stage."""

    def test_move_to_active_sets_a_real_stage_without_downgrading(self):
        from ..models.sms_journey_participant import make_active

        browsing = self.env["res.partner"].create({"name": "Browsing"})
        browsing._sms_mark_orientation()
        loyal = self.env["res.partner"].create({"name": "Loyal", "journey_stage": "loyalty"})
        make_active(browsing, T0)
        make_active(loyal, T0)
        self.assertEqual(browsing.journey_stage, "interaction")
        self.assertEqual(loyal.journey_stage, "loyalty")
        self.assertEqual(browsing.last_interaction_date, T0)
