import hashlib
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import consent as consent_tools
from ..tools import phone as phone_tools
from .res_partner import CONSENT_SOURCES
from .sms_sender import SmsRequest

# A YES answers the website's question for this long.
REQUEST_VALIDITY = timedelta(days=7)


class SmsConsentRequest(models.Model):
    """A double opt-in question a website form texted to the number a visitor typed.

    A visitor is anyone: the number typed may be someone else's. So a form never writes a
    contact's consent; it records this request and texts the question, and only the YES
    from that number (``_confirm_from_number``, called by the inbound worker) opts the
    number in. The rows are also the rate limit of these SMS (``tools.consent``: at most
    one per number per 24 h, a few per client address and per browser session, none to a
    blacklisted number). The visitor gets the same answer in every case.

    Written under ``sudo()`` by the website routes and the inbound worker only; SMS
    managers read them.
    """

    _name = "sms.consent.request"
    _description = "SMS double opt-in request from the website"
    _order = "id desc"
    _rec_name = "number"

    number = fields.Char(required=True, index=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        "Visitor's contact",
        ondelete="set null",
        index="btree_not_null",
        readonly=True,
        help="The signed-up user's or the order's contact, when the form had one.",
    )
    name = fields.Char(readonly=True)
    email = fields.Char(readonly=True)
    source = fields.Selection(CONSENT_SOURCES, required=True, readonly=True)
    proof = fields.Text(readonly=True)
    ip = fields.Char("IP address", index=True, readonly=True)
    session_key = fields.Char(index=True, readonly=True)
    state = fields.Selection(
        [("pending", "Pending"), ("confirmed", "Confirmed"), ("canceled", "Canceled")],
        default="pending",
        required=True,
        index=True,
        readonly=True,
    )

    @api.model
    def _ask_from_web(self, source, consent, number, partner=None, name=None, email=None):
        """A visitor ticked the SMS consent box with ``number`` (``consent``: a
        ``tools.consent.WebConsent``): text the double opt-in question to that number if
        the limits allow it. Returns nothing the visitor could learn from."""
        e164 = phone_tools.try_normalize(number or "")
        if not e164:
            return
        company = self.env.company
        # two posts at once for one number count as two
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", f"sms_doi:{e164}"))
        since = fields.Datetime.now() - timedelta(hours=consent_tools.ConfirmationLimits.hours)
        recent = [("create_date", ">=", since)]
        refusal = consent_tools.confirmation_refusal(
            blacklisted=bool(
                self.env["phone.blacklist"].sudo().search_count([("number", "=", e164)], limit=1)
            ),
            sent_to_number=self.search_count(recent + [("number", "=", e164)]),
            sent_from_ip=self.search_count(recent + [("ip", "=", consent.ip)]) if consent.ip else 0,
            sent_from_session=(
                self.search_count(recent + [("session_key", "=", consent.session_key)])
                if consent.session_key
                else 0
            ),
        )
        if refusal:
            return
        partner = (partner or self.env["res.partner"]).sudo()
        lang_partner = partner or self.env["res.partner"]
        body = lang_partner.with_context(
            lang=lang_partner._sms_lang(company)
        )._sms_consent_request_text()
        self.create(
            {
                "number": e164,
                "company_id": company.id,
                "partner_id": partner.id,
                "name": name or False,
                "email": email or False,
                "source": source,
                "proof": "\n".join([consent.proof(), body]),
                "ip": consent.ip or False,
                "session_key": consent.session_key or False,
            }
        )
        self.env["sms.sender"]._send(
            [
                SmsRequest(
                    body=body,
                    partner=partner,
                    number=e164,
                    kind="transactional",
                    reply_link="confirm",
                )
            ]
        )

    @api.model
    def _confirm_from_number(self, number, company, proof, interaction=False):
        """A YES from ``number``: opt in the number and its contacts (the visitor's own
        contact too), with the form's proof and the reply. Returns the partners, empty
        when no question of ``company``'s website awaits an answer from that number."""
        since = fields.Datetime.now() - REQUEST_VALIDITY
        requests = self.search(
            [
                ("number", "=", number),
                ("state", "=", "pending"),
                ("company_id", "=", company.id),
                ("create_date", ">=", since),
            ]
        )
        partner_model = self.env["res.partner"].sudo()
        if not requests:
            return partner_model
        requests.state = "confirmed"
        visitors = requests.partner_id
        for visitor in visitors.filtered(lambda p: not p.phone and not p.mobile):
            visitor.phone = number
        if not visitors and not partner_model._sms_partners_for_number(number):
            latest = requests[:1]
            visitors = partner_model.create(
                {
                    "name": latest.name or latest.email or number,
                    "email": latest.email or False,
                    "phone": number,
                    "company_id": company.id,
                }
            )
        full_proof = "\n".join([proof, requests[:1].proof or ""])
        return partner_model._sms_consent_opt_in_number(
            number, "keyword", full_proof, partner=visitors, interaction=interaction
        )

    @api.model
    def _cancel_for_number(self, number):
        """A STOP from ``number`` withdraws the questions waiting for its answer."""
        self.search([("number", "=", number), ("state", "=", "pending")]).state = "canceled"

    @api.autovacuum
    def _gc_answered_requests(self):
        """Questions older than 30 days are only rate-limit history: their answer, if
        any, is in the consent log with this proof."""
        old = fields.Datetime.now() - timedelta(days=30)
        self.search([("create_date", "<", old)]).unlink()

    @api.model
    def _session_key(self, sid):
        """What the rate limit keeps of a browser session: a hash, never the session id."""
        return hashlib.sha256(f"sms_doi:{sid}".encode()).hexdigest()[:32] if sid else ""
