import json
import re
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.sms_journey.tests.common import (
    JourneyCaseMixin,
    SmsJourneyCase,
    SmsJourneyHttpCase,
    new_company_actors,
    new_product_template,
    new_sms_user,
)
from odoo.addons.sms_journey.tools.reply_links import WindowLimiter

T0 = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome, inside the send window
ROUTE = "/sms_journey/back_in_stock"
GIULIA = "+393331234567"
STRANGER = "+393471112233"


class BackInStockMixin(JourneyCaseMixin):
    """A sold-out, published, storable kettle (code KT-100) of the main company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.country_id = cls.env.ref("base.it")
        cls.Request = cls.env["sms.back.in.stock.request"]
        cls.kettle = cls.new_product("Kettle", "KT-100")
        cls.stock = (
            cls.env["stock.warehouse"]
            .search([("company_id", "=", cls.env.company.id)], limit=1)
            .lot_stock_id
        )

    @classmethod
    def new_product(cls, name, code, **values):
        """A published, storable product, sold out."""
        return cls.env["product.product"].create(
            {
                "name": name,
                "default_code": code,
                "is_storable": True,
                "is_published": True,
                "list_price": 30,
                **values,
            }
        )

    def set_stock(self, product, quantity, at):
        with self.frozen_now(at):
            self.env["stock.quant"].with_context(inventory_mode=True).create(
                {
                    "product_id": product.id,
                    "location_id": self.stock.id,
                    "inventory_quantity": quantity,
                }
            ).action_apply_inventory()

    def requests(self, **filters):
        domain = [(key, "=", value) for key, value in filters.items()]
        return self.Request.sudo().search(domain)


@tagged("post_install", "-at_install")
class TestBackInStockRequests(BackInStockMixin, SmsJourneyCase):
    """The journey's own interest list: the trigger enrols it, STOP wins, SMS staff
    read it (their company's), nobody else."""

    def journey(self, partners, kind="marketing"):
        template = new_product_template(self.env, "Back", "{{ product }} is back:")
        journey = self.make_journey(
            [self.sms_step(template, unit="hours", landing_type="product")],
            trigger="back_in_stock",
            sms_kind=kind,
            audience_domain=f"[('id', 'in', {partners.ids})]",
        )
        with self.frozen_now(T0):
            journey.action_start()
        return journey

    def test_trigger_enrols_both_lists_and_marks_requests_notified(self):
        bruno = self.make_partner("Bruno", "+39 333 765 4321")
        carla = self.make_partner("Carla", "+39 333 765 9999")
        request, created = self.Request._record(
            self.partner, self.kettle, self.company, "web", "page"
        )
        self.assertTrue(created)
        again, created = self.Request._record(
            self.partner, self.kettle, self.company, "keyword", "sms"
        )
        self.assertEqual((again, created), (request, False), "one open request per product")
        self.Request._record(carla, self.kettle, self.company, "web", "page")
        # Odoo's own "notify me" list: Bruno, and Carla on both lists
        self.kettle.stock_notification_partner_ids = bruno | carla
        journey = self.journey(self.partner | bruno | carla)
        self.run_crons(T0 + timedelta(minutes=30))
        self.assertFalse(journey.participant_ids, "still sold out")
        self.assertFalse(request.notified_at)
        self.set_stock(self.kettle, 3, T0 + timedelta(hours=1))
        self.run_crons(T0 + timedelta(hours=1, minutes=5))
        participants = journey.participant_ids
        self.assertEqual(participants.partner_id, self.partner | bruno | carla)
        self.assertEqual(len(participants), 3, "Carla, on both lists, enters once")
        self.assertEqual(self.traces(journey).mapped("state"), ["sent"] * 3)
        self.assertIn("Kettle is back", self.traces(journey)[0].body)
        mine = participants.filtered(lambda p: p.partner_id == self.partner)
        self.assertEqual(request.participant_id, mine)
        self.assertEqual(request.notified_at, mine.enrolled_at)
        self.assertFalse(self.requests(notified_at=False), "every request answered")
        # website_sale_stock's own list keeps its behaviour (its mail cron empties it)
        self.assertEqual(self.kettle.stock_notification_partner_ids, bruno | carla)
        # once told, the contact may ask again
        _new, created = self.Request._record(self.partner, self.kettle, self.company, "web", "p")
        self.assertTrue(created)

    def test_candidates_cost_the_same_for_more_products(self):
        """The quantities on hand and the waiting lists are read once for all the
        products moved in the window, not per product."""
        products = self.env["product.product"]
        for i in range(6):
            products |= self.new_product(f"Mug {i}", f"MUG-{i}")
        products.write({"stock_notification_partner_ids": [(6, 0, self.partner.ids)]})
        for product in products:
            self.Request._record(self.partner, product, self.company, "web", "page")
        journey = self.journey(self.partner)
        for i, product in enumerate(products):
            self.set_stock(product, 2, T0 + timedelta(hours=1, minutes=i))

        def run(count):
            until = T0 + timedelta(hours=1, minutes=count - 1, seconds=30)
            with self.count_queries() as queries:
                candidates = journey._candidates_back_in_stock(T0, until)
            self.assertEqual(len(candidates), count)
            return queries[0]

        self.assertQueriesFlat(run, 1, 6)

    def test_cron_calls_enrol_the_window_in_chunks(self):
        """The cron's first call scans the window once and stages it; the next ones
        enrol it in chunks, the oldest products first, and say what remains; the window
        closes with its last chunk: three products back one after the other, two
        contacts waiting for each, a limit of two."""
        contacts = self.env["res.partner"]
        for i in range(6):
            contacts |= self.make_partner(f"Waiting {i}", f"+39 333 765 00{i:02d}")
        journey = self.journey(contacts)
        checked = journey.enrol_checked_at
        for i in range(3):
            product = self.new_product(f"Cup {i}", f"CUP-{i}")
            for contact in contacts[2 * i : 2 * i + 2]:
                self.Request._record(contact, product, self.company, "web", "page")
            self.set_stock(product, 2, T0 + timedelta(hours=1, minutes=i))
        now = T0 + timedelta(hours=2)
        with self.frozen_now(now):
            self.assertEqual(journey._enrol(now, 2), (0, 6), "the window scanned and staged")
            self.assertEqual(journey._enrol(now, 2), (2, 4))
            self.assertEqual(journey.participant_ids.partner_id, contacts[:2])
            self.assertEqual(self.requests(notified_at=False).partner_id, contacts[2:])
            self.assertEqual(journey.enrol_checked_at, checked, "open until its last chunk")
            self.assertEqual(journey._enrol(now, 2), (2, 2))
            self.assertEqual(journey._enrol(now, 2), (2, 0))
        self.assertEqual(journey.participant_ids.partner_id, contacts)
        self.assertEqual(journey.enrol_checked_at, now)
        self.assertFalse(self.requests(notified_at=False))

    def test_stop_wins_even_for_a_requested_transactional_sms(self):
        bruno = self.make_partner("Bruno", "+39 333 765 4321", consent=False)
        for partner in self.partner | bruno:
            self.Request._record(partner, self.kettle, self.company, "keyword", "sms")
        self.partner._sms_consent_opt_out_number(GIULIA, "keyword", "STOP")
        journey = self.journey(self.partner | bruno, kind="transactional")
        self.set_stock(self.kettle, 2, T0 + timedelta(hours=1))
        self.run_crons(T0 + timedelta(hours=1, minutes=5))
        self.dispatch()
        self.assertSmsSent("+393337654321")  # asked, no consent needed: transactional
        self.assertSmsNotSent(GIULIA)
        self.assertNotIn("sent", self.traces(journey, partner_id=self.partner.id).mapped("state"))

    def test_sms_users_read_managers_manage_nobody_else(self):
        request, _created = self.Request._record(
            self.partner, self.kettle, self.company, "web", "page"
        )
        user = new_sms_user(self.env, "bis_user")
        self.assertEqual(self.Request.with_user(user).search([]), request)
        self.assertEqual(self.partner.with_user(user).sms_back_in_stock_count, 1)
        template = self.kettle.product_tmpl_id.with_user(user)
        self.assertEqual(template.sms_back_in_stock_count, 1)
        for record in (template, self.partner.with_user(user)):
            action = record.action_view_sms_back_in_stock()
            self.assertEqual(self.Request.with_user(user).search(action["domain"]), request)
        with self.assertRaises(AccessError):
            request.with_user(user).write({"notified_at": T0})
        with self.assertRaises(AccessError):
            self.Request.with_user(user).create(
                {
                    "partner_id": user.partner_id.id,
                    "product_id": self.kettle.id,
                    "company_id": self.company.id,
                    "source": "web",
                }
            )
        manager = new_sms_user(self.env, "bis_manager", "sms_journey.group_sms_journey_manager")
        request.with_user(manager).write({"proof": "checked"})
        employee = new_test_user(self.env, login="bis_employee", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.Request.with_user(employee).search([])
        with self.assertRaises(AccessError):
            _count = self.partner.with_user(employee).sms_back_in_stock_count
        other = new_company_actors(self.env, "bis")
        for _label, actor in other.users():
            self.assertFalse(self.Request.with_user(actor).search([]))


@tagged("post_install", "-at_install")
class TestBackInStockOverHttp(BackInStockMixin, SmsJourneyHttpCase):
    """The product page's form (signed-in, visitor, hostile input) and NOTIFY <code> by
    an SMS through the real webhook."""

    def setUp(self):
        super().setUp()
        self.startPatcher(
            patch(
                "odoo.addons.sms_journey_website_sale_stock.controllers.main.LIMITER",
                WindowLimiter(limit=1000, window=60),
            )
        )

    def csrf_token(self):
        page = self.url_open("/shop").text
        match = re.search(r"csrf_token[\"']?\s*[:=]\s*[\"']([0-9a-f]+o[0-9]+)", page)
        self.assertTrue(match, "no CSRF token on the shop page")
        return match.group(1)

    def post(self, product_id, phone=None, token=None):
        data = {"product_id": product_id, "csrf_token": token or self.csrf_token()}
        if phone is not None:
            data["phone"] = phone
        response = self.url_open(ROUTE, data=data, allow_redirects=False)
        self.env.invalidate_all()
        return response

    def combination_info(self, product):
        response = self.url_open(
            "/website_sale/get_combination_info",
            data=json.dumps(
                {
                    "params": {
                        "product_template_id": product.product_tmpl_id.id,
                        "product_id": product.id,
                        "combination": [],
                        "add_qty": 1,
                    }
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()["result"]

    def test_product_page_offers_the_form_when_sold_out(self):
        offer = self.combination_info(self.kettle)["sms_back_in_stock"]
        self.assertTrue(offer["ask_phone"], "a visitor types a number")
        self.assertRegex(offer["csrf_token"], r"^[0-9a-f]+o[0-9]+$")
        self.set_stock(self.kettle, 5, datetime.now())
        self.assertNotIn("sms_back_in_stock", self.combination_info(self.kettle))

    def test_public_visitor_with_a_phone(self):
        response = self.post(self.kettle.id, "333 123 4567")  # national, read in Italy
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertIn("We will text you", response.text)
        request = self.requests(product_id=self.kettle.id)
        self.assertEqual(request.partner_id, self.partner, "found by the number")
        self.assertEqual((request.source, request.number), ("web", GIULIA))
        self.assertIn(f"{ROUTE}\n", request.proof)
        self.assertIn("IP: 127.0.0.1", request.proof)
        self.assertEqual(self.post(self.kettle.id, "+39 333 123 4567").status_code, 200)
        self.assertEqual(len(self.requests()), 1, "one open request per contact and product")
        # an unknown number: a contact with only the number, in the website's company
        self.assertEqual(self.post(self.kettle.id, "+39 347 111 2233").status_code, 200)
        contact = self.requests(number=STRANGER).partner_id
        self.assertEqual(
            (contact.name, contact.phone_sanitized, contact.company_id, contact.user_ids),
            (STRANGER, STRANGER, self.company, self.env["res.users"]),
        )

    def test_signed_in_customer(self):
        portal = new_test_user(self.env, login="bis_portal", groups="base.group_portal")
        portal.partner_id.mobile = "+39 333 555 0101"
        self.authenticate("bis_portal", "bis_portal")
        # the number typed is ignored: a signed-in customer asks for themself
        self.assertEqual(self.post(self.kettle.id, "+39 347 111 2233").status_code, 200)
        request = self.requests()
        self.assertEqual((request.partner_id, request.number), (portal.partner_id, "+393335550101"))
        portal.partner_id.mobile = False
        portal.partner_id.phone = False
        other = self.new_product("Kettle 2", "KT-200")
        response = self.post(other.id)
        self.assertEqual(response.status_code, 400)
        self.assertIn("Add your mobile number", response.text)
        self.assertEqual(len(self.requests()), 1)

    def test_hostile_input_gets_a_clear_4xx(self):
        unpublished = self.new_product("Hidden", "HD-1", is_published=False)
        other_company = new_company_actors(self.env, "bis_http").company
        foreign = self.new_product("Foreign", "FR-1", company_id=other_company.id)
        token = self.csrf_token()
        for product_id in ("abc", "", "-1", "99999999", "1" * 40, "1e400", "1;DROP TABLE"):
            response = self.post(product_id, GIULIA, token)
            self.assertEqual(response.status_code, 404, product_id)
            self.assertIn("not available", response.text)
        for product in (unpublished, foreign):
            self.assertEqual(self.post(product.id, GIULIA, token).status_code, 404)
        for phone in ("", "not a phone", "<script>alert(1)</script>", "+" + "9" * 200, "123"):
            response = self.post(self.kettle.id, phone, token)
            self.assertEqual(response.status_code, 400, phone)
            self.assertIn("Mobile number not valid", response.text)
        response = self.url_open(ROUTE, data={"product_id": self.kettle.id, "phone": GIULIA})
        self.assertEqual(response.status_code, 400, "no CSRF token")
        self.assertFalse(self.requests())
        # in stock: nothing to wait for
        self.set_stock(self.kettle, 5, datetime.now())
        response = self.post(self.kettle.id, GIULIA, token)
        self.assertEqual(response.status_code, 200)
        self.assertIn("in stock", response.text)
        self.assertFalse(self.requests())

    def test_posts_are_rate_limited_per_address(self):
        token = self.csrf_token()
        with patch(
            "odoo.addons.sms_journey_website_sale_stock.controllers.main.LIMITER",
            WindowLimiter(limit=2, window=60),
        ):
            statuses = [self.post(self.kettle.id, GIULIA, token).status_code for _i in range(3)]
        self.assertEqual(statuses, [200, 200, 429])

    def test_notify_keyword_by_sms(self):
        teapot = self.new_product("Teapot", "TP-1")
        self.set_stock(teapot, 4, datetime.now())
        mug = self.new_product("Mug", "MG-1", is_published=False)
        self.set_stock(mug, 4, datetime.now())
        status, _text = self.post_inbound("notify kt-100", sender=GIULIA)
        self.assertEqual(status, 200)
        request = self.requests()
        self.assertEqual((request.partner_id, request.source), (self.partner, "keyword"))
        self.assertEqual(request.interaction_id.body, "notify kt-100")
        self.assertIn("notify kt-100", request.proof)
        self.post_inbound("Avvisami: KT-100!", sender=GIULIA)
        self.assertEqual(len(self.requests()), 1, "asked twice, one request")
        self.post_inbound("NOTIFY NOPE-9", sender=GIULIA)
        self.post_inbound("notify tp-1", sender=GIULIA)
        self.post_inbound("notify", sender=GIULIA)
        self.post_inbound("notify mg-1", sender=GIULIA)
        # an unknown number: its contact is created as the website does
        self.post_inbound("NOTIFY KT-100", sender=STRANGER)
        self.assertEqual(self.requests(number=STRANGER).partner_id.phone_sanitized, STRANGER)
        bodies = self.outbox_bodies(GIULIA)
        self.assertEqual(len(bodies), 6, bodies)
        expected = [
            "We will text you when [KT-100] Kettle is back in stock.",
            "We will text you when [KT-100] Kettle is back in stock.",
            "We found no product with the code NOPE-9.",
            "[TP-1] Teapot is in stock: http",
            "Send NOTIFY followed by the product code",
            # not on the shop: no link to a page that answers 404
            "[MG-1] Mug is in stock.",
        ]
        for body, text in zip(bodies, expected, strict=True):
            self.assertIn(text, body)
        self.assertIn("/shop/", bodies[3])
        self.assertNotIn("http", bodies[5])
        self.assertIn("back in stock", self.outbox_bodies(STRANGER)[0])


@tagged("post_install", "-at_install")
class TestBackInStockTour(BackInStockMixin, SmsJourneyHttpCase):
    """What a visitor sees: the form on the sold-out product's page, and its answer."""

    def test_visitor_asks_from_the_product_page(self):
        self.start_tour(self.kettle.website_url, "sms_journey_back_in_stock_visitor")
        request = self.requests(product_id=self.kettle.id)
        self.assertEqual((request.partner_id, request.source), (self.partner, "web"))
