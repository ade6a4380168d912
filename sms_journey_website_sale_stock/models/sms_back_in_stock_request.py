from odoo import api, fields, models
from odoo.tools import SQL, escape_psql

from odoo.addons.sms_journey.tools import phone as phone_tools

PRODUCT_MODEL = "product.product"


class SmsBackInStockRequest(models.Model):
    """A contact asked to be texted when a sold-out product is back: from the product
    page ("Text me when it's back") or by SMS (``NOTIFY <code>``). At most one open
    request per contact and product (a partial unique index); the *Back in stock*
    trigger enrols the open ones when the product's quantity crosses from ≤ 0 to > 0
    and marks them notified (``notified_at``) when their journey enrols the contact.
    The request is the proof that the contact asked: the page (URL, time, IP, browser)
    or the inbound SMS."""

    _name = "sms.back.in.stock.request"
    _description = "SMS back-in-stock request"
    _order = "requested_at desc, id desc"
    _check_company_auto = True
    _rec_name = "product_id"

    partner_id = fields.Many2one(
        "res.partner", "Contact", required=True, ondelete="cascade", index=True, readonly=True
    )
    product_id = fields.Many2one(
        PRODUCT_MODEL, required=True, ondelete="cascade", index=True, readonly=True
    )
    product_tmpl_id = fields.Many2one(
        related="product_id.product_tmpl_id", store=True, index=True, string="Product template"
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    source = fields.Selection(
        [("web", "Product page"), ("keyword", "SMS keyword")], required=True, readonly=True
    )
    number = fields.Char("Mobile", readonly=True, help="The number the contact gave (E.164).")
    requested_at = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    notified_at = fields.Datetime(
        readonly=True, copy=False, help="When a back-in-stock journey enrolled the contact."
    )
    participant_id = fields.Many2one(
        "sms.journey.participant", "Journey participant", ondelete="set null", readonly=True
    )
    interaction_id = fields.Many2one(
        "sms.interaction", "Inbound SMS", ondelete="set null", readonly=True
    )
    proof = fields.Text(readonly=True, help="The page (URL, time, IP, browser) or the SMS.")

    def init(self):
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS sms_back_in_stock_request_open_uniq "
                "ON %s (partner_id, product_id) WHERE notified_at IS NULL",
                SQL.identifier(self._table),
            )
        )

    # the smart buttons of the product and the contact --------------------------------

    @api.model
    def _count_by(self, fname, records, open_only=False):
        """{record: its number of requests} for ``records`` (the ``fname`` of requests)."""
        domain = [(fname, "in", records.ids)]
        if open_only:
            domain.append(("notified_at", "=", False))
        return dict(self._read_group(domain, [fname], ["__count"]))

    @api.model
    def _action_for(self, fname, record, open_only=False):
        """The list of ``record``'s requests (all of them, or the open ones)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey_website_sale_stock.sms_back_in_stock_request_action"
        )
        action["domain"] = [(fname, "=", record.id)]
        action["context"] = {"search_default_open": int(open_only)}
        return action

    # recording ---------------------------------------------------------------

    @api.model
    def _record(self, partner, product, company, source, proof, number=False, interaction=False):
        """The open request of ``partner`` for ``product`` (created when none, as
        superuser: the visitor and the inbound worker have no right on the model).
        Returns (request, created)."""
        Request = self.sudo()
        domain = [
            ("partner_id", "=", partner.id),
            ("product_id", "=", product.id),
            ("notified_at", "=", False),
        ]
        existing = Request.search(domain, limit=1)
        if existing:
            return existing, False
        # two posts at once for one contact and product: the second waits, then finds it
        self.env.cr.execute(
            SQL(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                f"sms_back_in_stock:{partner.id}:{product.id}",
            )
        )
        existing = Request.search(domain, limit=1)
        if existing:
            return existing, False
        values = {
            "partner_id": partner.id,
            "product_id": product.id,
            "company_id": company.id,
            "source": source,
            "proof": proof,
            "number": number,
            "interaction_id": interaction and interaction.id,
        }
        return Request.create(values), True

    @api.model
    def _partner_for_number(self, e164, company, name=False):
        """The contact of ``e164`` in ``company`` (or shared), else a new one with only
        the name, the number and the company: what a website form creates, nothing
        more (no user, no consent)."""
        partner = self.env["res.partner"]._sms_partners_for_number(e164, company)[:1]
        if partner:
            return partner
        return (
            self.env["res.partner"]
            .sudo()
            .create({"name": name or e164, "mobile": e164, "company_id": company.id})
        )

    @api.model
    def _normalize(self, number, company):
        """``number`` in E.164 (national numbers read in the company's country), or
        False; as ``tools/phone.py`` normalizes every number of the addon."""
        if not isinstance(number, str):
            return False
        return phone_tools.try_normalize(number, company.country_id.code) or False

    @api.model
    def _product_of_code(self, code, company):
        """The saleable product whose internal reference is ``code`` (any case), of
        ``company`` or shared, or an empty recordset."""
        code = (code or "").strip(" \t.,;:!?\"'«»“”")
        if not code or len(code) > 64:
            return self.env[PRODUCT_MODEL]
        return (
            self.env[PRODUCT_MODEL]
            .sudo()
            .search(
                [
                    ("default_code", "=ilike", escape_psql(code)),
                    ("sale_ok", "=", True),
                    ("company_id", "in", [False, company.id]),
                ],
                limit=1,
            )
        )

    @api.model
    def _is_sold_out(self, product, company):
        """Whether a request for ``product`` makes sense: storable, none on hand."""
        product = product.sudo().with_company(company)
        return product.is_storable and product.qty_available <= 0

    # the trigger ---------------------------------------------------------------

    @api.model
    def _waiting_partner_ids(self, product_ids, company):
        """{product id: sorted ids of the contacts waiting for it}: on the shop's
        "notify me" list (active contacts, as the list reads them) or with an open
        request of ``company``. One query for all the products."""
        self.env[PRODUCT_MODEL].flush_model(["stock_notification_partner_ids"])
        self.flush_model(["product_id", "partner_id", "company_id", "notified_at"])
        rows = self.env.execute_query(
            SQL(
                """SELECT n.product_product_id, n.res_partner_id
                     FROM stock_notification_product_partner_rel n
                     JOIN res_partner p ON p.id = n.res_partner_id
                    WHERE n.product_product_id = ANY(%(products)s) AND p.active
                    UNION
                   SELECT r.product_id, r.partner_id
                     FROM sms_back_in_stock_request r
                    WHERE r.product_id = ANY(%(products)s) AND r.company_id = %(company)s
                      AND r.notified_at IS NULL
                    ORDER BY 1, 2""",
                products=list(product_ids),
                company=company.id,
            )
        )
        result = {}
        for product_id, partner_id in rows:
            result.setdefault(product_id, []).append(partner_id)
        return result

    @api.model
    def _mark_notified(self, participants):
        """The open requests the new ``participants`` (of a back-in-stock journey)
        entered for: notified, at their enrolment. One UPDATE joined with the
        participants' rows: reading 15,000 new participants back into the ORM to match
        them cost more than the enrolment's INSERT."""
        if not participants:
            return
        participants.flush_recordset(
            ["partner_id", "company_id", "source_model", "source_res_id", "enrolled_at"]
        )
        self.flush_model(["partner_id", "product_id", "company_id", "notified_at"])
        self.env.cr.execute(
            SQL(
                """UPDATE sms_back_in_stock_request r
                      SET notified_at = p.enrolled_at, participant_id = p.id,
                          write_date = now() AT TIME ZONE 'UTC', write_uid = %s
                     FROM sms_journey_participant p
                    WHERE p.id = ANY(%s) AND p.source_model = %s
                      AND r.partner_id = p.partner_id AND r.product_id = p.source_res_id
                      AND r.company_id = p.company_id AND r.notified_at IS NULL""",
                self.env.uid,
                participants.ids,
                PRODUCT_MODEL,
            )
        )
        self.invalidate_model(["notified_at", "participant_id", "write_date", "write_uid"])
