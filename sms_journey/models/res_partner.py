"""res.partner: SMS consent (the one writer of it and the consent matrix), the double
opt-in asked by staff, and which number and language the automatic SMS use.

The customer facts are in ``res_partner_activity.py``, the yearly and inactivity
audiences in ``res_partner_audience.py``, the contact's SMS conversation in
``res_partner_conversation.py``."""

import contextvars

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import consent as consent_tools
from ..tools import phone as phone_tools
from .sms_sender import SmsRequest

CONSENT_STATES = [
    ("unknown", "Unknown"),
    ("pending", "Pending confirmation"),
    ("opted_in", "Opted in"),
    ("opted_out", "Opted out"),
]
CONSENT_SOURCES = [
    ("web_form", "Web form"),
    ("checkout", "Checkout"),
    ("keyword", "SMS keyword"),
    ("import", "Import"),
    ("staff", "Staff"),
    ("api", "API"),
    ("provider", "SMS provider"),
    ("blacklist", "Phone blacklist"),
]

# Written only by _sms_consent_set (see ResPartner._sms_consent_guard).
CONSENT_FIELDS = (
    "sms_consent_state",
    "sms_consent_date",
    "sms_consent_source",
    "sms_consent_proof",
)
# Private modes of the consent write, set by our own methods only: Python state of the
# running call, out of reach of the context a client sends over JSON-RPC.
_CONSENT_WRITER = contextvars.ContextVar("sms_journey_consent_writer", default=False)
_CONSENT_IMPORT = contextvars.ContextVar("sms_journey_consent_import", default=False)
CONSENT_MERGE = contextvars.ContextVar("sms_journey_consent_merge", default=False)


class ResPartner(models.Model):
    """SMS consent of a contact.

    The consent state says whether marketing SMS may be sent. Opt-outs are kept in
    Odoo's ``phone.blacklist`` (through its ``_add``/``_remove`` API), so every Odoo
    feature respects them; ``sms.consent.log`` keeps every change with its proof.

    Main methods: ``_sms_consent_set`` (one partner), ``_sms_consent_opt_out_number`` /
    ``_sms_consent_opt_in_number`` (everything behind a number), and
    ``action_sms_request_consent`` (double opt-in).

    Who may change consent (enforced in ``_sms_consent_set``, the only writer of the
    consent state, date, source and proof; the rules are ``tools.consent``):

    - the contact, from the number (START, STOP, a YES confirming a double opt-in; the
      carrier's opt-out): anything, and only they lift a STOP (the number on the
      blacklist, or an opt-out that came from the number);
    - staff: an opt-out always (``action_sms_opt_out``, ``action_sms_marketing_opt_out``);
      an opt-in only as an SMS user, with a proof (origin and text, the
      ``sms.consent.opt.in`` form), never over a STOP; a double opt-in request by SMS;
    - an import (``load``): the state and a proof column; opt-outs always, opt-ins only
      with a proof and never over a STOP; any other consent column is refused;
    - a website visitor (contact form, sign-up, checkout): never writes a contact's
      consent; the number typed gets a double opt-in question (``sms.consent.request``,
      rate-limited), and only the YES from that number opts it in;
    - a JSON-RPC client: ``write``/``create`` refuse the consent fields; the buttons
      re-check rights. No context key changes any of this.
    """

    _inherit = "res.partner"

    # Inbound SMS are matched to partners on this column.
    phone_sanitized = fields.Char(index="btree_not_null")
    # The consent fields are written by _sms_consent_set only (write/create refuse them).
    sms_consent_state = fields.Selection(
        CONSENT_STATES,
        string="SMS consent",
        default="unknown",
        index=True,
        copy=False,
        readonly=True,
        tracking=True,
    )
    sms_consent_date = fields.Datetime("SMS consent date", copy=False, readonly=True)
    sms_consent_source = fields.Selection(
        CONSENT_SOURCES, "SMS consent source", copy=False, readonly=True
    )
    sms_consent_proof = fields.Text(
        "SMS consent proof",
        copy=False,
        readonly=True,
        help="The consent text shown, the keyword message or the IP address, "
        "and who recorded it.",
    )
    sms_consent_log_ids = fields.One2many(
        "sms.consent.log", "partner_id", "SMS consent history", readonly=True
    )

    @api.model_create_multi
    def create(self, vals_list):
        # Consent columns of an import (load) are recorded through _sms_consent_set once
        # the contacts exist; anyone else may not set them (see _sms_consent_guard).
        vals_list = [dict(vals) for vals in vals_list]
        consents = [self._sms_consent_guard(vals) for vals in vals_list]
        partners = super().create(vals_list)
        for partner, consent in zip(partners, consents, strict=True):
            if consent:
                partner._sms_consent_import(consent)
        return partners

    def write(self, vals):
        vals = dict(vals)
        consent = self._sms_consent_guard(vals)
        result = super().write(vals) if vals or not consent else True
        if consent:
            self._sms_consent_import(consent)
        return result

    @api.model
    def load(self, fields, data):
        """An import: its consent columns go through ``_sms_consent_set`` (source
        *Import*), under the import's rules (see the consent matrix)."""
        token = _CONSENT_IMPORT.set(True)
        try:
            return super().load(fields, data)
        finally:
            _CONSENT_IMPORT.reset(token)

    def _sms_consent_guard(self, vals):
        """Take the consent fields out of ``vals`` (changed in place) and return them.

        Only ``_sms_consent_set`` writes them; an import may give a state and its proof,
        which are then recorded through it. Values equal to the defaults (a new contact's
        empty consent) are dropped silently; anything else is refused."""
        if _CONSENT_WRITER.get():
            return {}
        consent = {name: vals.pop(name) for name in CONSENT_FIELDS if name in vals}
        if CONSENT_MERGE.get():
            return {}  # a merge keeps the kept contact's consent
        given = {
            name: value
            for name, value in consent.items()
            if not self._sms_consent_unchanged(name, value)
        }
        if not given:
            return {}
        if _CONSENT_IMPORT.get() and set(given) <= {"sms_consent_state", "sms_consent_proof"}:
            return given
        if _CONSENT_IMPORT.get():
            raise UserError(
                self.env._(
                    "An import may give the SMS consent state and its proof only: the source "
                    "is recorded as Import and the date as the time of the import."
                )
            )
        raise UserError(
            self.env._(
                "The SMS consent of a contact can't be written directly. Use the contact's "
                "SMS consent buttons (an opt-in needs a proof), or import the consent state "
                "with a proof column."
            )
        )

    def _sms_consent_unchanged(self, name, value):
        """Whether writing ``value`` to consent field ``name`` changes nothing: a new
        contact's empty consent, or every record's current value (a merge, a form
        sending back what it read)."""
        field = self._fields[name]
        value = field.convert_to_record(field.convert_to_cache(value, self), self)
        if not self:
            return not value or (name == "sms_consent_state" and value == "unknown")
        return all(partner[name] == value for partner in self.sudo())

    def _sms_consent_import(self, consent):
        """Record the consent columns of an imported row (see ``load``)."""
        state = consent.get("sms_consent_state")
        if not state:
            raise UserError(self.env._("An imported SMS consent proof needs a consent state."))
        changed = self.filtered(lambda partner: partner.sms_consent_state != state)
        changed._sms_consent_set(state, "import", consent.get("sms_consent_proof"))

    def _sms_consent_set(
        self, state, source, proof=False, number=False, interaction=False, stop=False
    ):
        """Record a consent change with its proof on each partner of ``self``: the one
        method that writes the consent fields, and where the consent matrix is enforced
        (``tools.consent``: only the contact lifts a STOP; an opt-in from anyone else
        needs a proof). Raises ``UserError`` when ``source`` may not make the change.

        The state is the marketing consent. Two scopes of opt-out:

        - ``opted_out`` alone revokes marketing consent ("no marketing"): transactional
          SMS (orders, appointments) still reach the contact;
        - with ``stop`` (a STOP keyword, the carrier's opt-out, CTIA), the number also
          enters Odoo's ``phone.blacklist`` and gets nothing but essential SMS.

        ``opted_in`` (START, YES, a consent form) removes the number from the blacklist,
        so Odoo's own mailings agree with us.
        """
        self._sms_consent_check(state, source, proof)
        now = fields.Datetime.now()
        logs = []
        token = _CONSENT_WRITER.set(True)
        try:
            for partner in self:
                partner_number = number or partner.phone_sanitized
                partner.sudo().write(
                    {
                        "sms_consent_state": state,
                        "sms_consent_date": now,
                        "sms_consent_source": source,
                        "sms_consent_proof": proof or False,
                    }
                )
                logs.append(
                    {
                        "partner_id": partner.id,
                        "number": partner_number or False,
                        "action": state,
                        "scope": "all" if stop or state == "opted_in" else "marketing",
                        "source": source,
                        "proof": proof or False,
                        "interaction_id": interaction.id if interaction else False,
                    }
                )
                self._sms_blacklist_follow(partner_number, state, source, stop)
        finally:
            _CONSENT_WRITER.reset(token)
        self.env["sms.consent.log"].sudo().create(logs)
        # The blacklist flags are computed from phone.blacklist without a dependency.
        self.invalidate_recordset(
            ["phone_sanitized_blacklisted", "phone_blacklisted", "mobile_blacklisted"]
        )
        self.env["sms.gateway.message"]._cancel_refused_for_numbers([number], partners=self)
        return True

    def _sms_blacklist_follow(self, number, state, source, stop):
        """Odoo's ``phone.blacklist`` follows a consent change of ``number``: a STOP
        adds it, an opt-in removes it; a "no marketing" opt-out leaves it alone."""
        blacklist = self.env["phone.blacklist"].sudo()
        if number and state == "opted_out" and stop:
            blacklist._sms_journey_add([number], self.env._("SMS opt-out (%s)", source))
        elif number and state == "opted_in":
            blacklist._sms_journey_remove([number], self.env._("SMS opt-in (%s)", source))

    def _sms_consent_check(self, state, source, proof):
        """Refuse what ``source`` may not do to these contacts (the consent matrix)."""
        if not self:
            return
        blacklisted = self._sms_blacklisted_numbers()
        for partner in self.sudo():
            refusal = consent_tools.consent_refusal(
                state,
                source,
                proof,
                state=partner.sms_consent_state,
                state_source=partner.sms_consent_source,
                blacklisted=partner.phone_sanitized in blacklisted,
            )
            if refusal:
                raise UserError(partner._sms_consent_refusal_text(refusal))

    def _sms_consent_refusal_text(self, refusal):
        """What the user is told of a ``refusal`` of ``tools/consent.py``: STOPPED or
        NO_PROOF."""
        if refusal == consent_tools.STOPPED:
            return self.env._(
                "%(name)s stopped SMS from their number: only they can subscribe "
                "again, by replying START or confirming a request by SMS.",
                name=self.display_name,
            )
        return self.env._(
            "An SMS opt-in for %(name)s needs its proof: how and when the "
            "contact agreed (a signed form, a recorded call…).",
            name=self.display_name,
        )

    def _sms_blacklisted_numbers(self):
        numbers = [number for number in self.sudo().mapped("phone_sanitized") if number]
        if not numbers:
            return set()
        rows = (
            self.env["phone.blacklist"]
            .sudo()
            .search_read([("number", "in", numbers), ("active", "=", True)], ["number"])
        )
        return {row["number"] for row in rows}

    def _sms_marketing_opt_out(self, source, proof=False, interaction=False):
        """ "No marketing": revoke marketing consent, keep transactional SMS."""
        return self._sms_consent_set("opted_out", source, proof, interaction=interaction)

    @api.model
    def _sms_partners_for_number(self, number, company=None):
        """The contacts of ``number``; with ``company`` (the company of the gateway a
        keyword came in on) only that company's and those shared by all companies: a
        START to one company never re-subscribes another company's contact."""
        e164 = phone_tools.try_normalize(number)
        if not e164:
            return self.browse()
        domain = [("phone_sanitized", "=", e164)]
        if company is not None:
            domain.append(("company_id", "in", [False, *company.ids]))
        return self.sudo().search(domain)

    @api.model
    def _sms_consent_opt_out_number(
        self, number, source, proof=False, partner=None, interaction=False, company=None
    ):
        """STOP everything behind ``number``: its partners (of ``company`` and shared,
        when given) and the number itself (the blacklist: nothing but essential SMS)."""
        e164 = phone_tools.try_normalize(number) or number
        partners = self._sms_partners_for_number(e164, company) | (partner or self.browse())
        # a STOP answers the website's pending questions to this number too
        self.env["sms.consent.request"].sudo()._cancel_for_number(e164)
        if partners:
            partners._sms_consent_set("opted_out", source, proof, e164, interaction, stop=True)
        else:
            self.env["phone.blacklist"].sudo()._sms_journey_add(
                [e164], self.env._("SMS opt-out (%s)", source)
            )
            self.env["sms.consent.log"].sudo().create(
                {
                    "number": e164,
                    "action": "opted_out",
                    "scope": "all",
                    "source": source,
                    "proof": proof or False,
                    "interaction_id": interaction.id if interaction else False,
                }
            )
        return partners

    @api.model
    def _sms_consent_opt_in_number(
        self, number, source, proof=False, partner=None, interaction=False, company=None
    ):
        e164 = phone_tools.try_normalize(number) or number
        partners = self._sms_partners_for_number(e164, company) | (partner or self.browse())
        partners._sms_consent_set("opted_in", source, proof, e164, interaction)
        if not partners:
            self.env["phone.blacklist"].sudo()._sms_journey_remove(
                [e164], self.env._("SMS opt-in (%s)", source)
            )
        return partners

    # Staff buttons: public, so they re-check rights and hand a proof to _sms_consent_set.

    def _sms_consent_staff_check(self, sms_user=False):
        """Any employee who sees the contacts may record an opt-out; an opt-in or a
        double opt-in request takes an SMS user."""
        self.check_access("read")
        if not self.env.user._is_internal():
            raise AccessError(self.env._("Only employees can record SMS consent."))
        if sms_user and not self.env.user.has_group("sms_journey.group_sms_journey_user"):
            raise AccessError(self.env._("Only SMS users can record an SMS opt-in or ask for one."))

    def action_sms_opt_in(self):
        """Open the form that records an opt-in with its proof (``sms.consent.opt.in``)."""
        self._sms_consent_staff_check(sms_user=True)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record an SMS opt-in"),
            "res_model": "sms.consent.opt.in",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_ids": self.ids},
        }

    def _sms_staff_opt_in(self, origin, proof):
        """An opt-in an SMS user records with its proof (never over a STOP)."""
        self._sms_consent_staff_check(sms_user=True)
        text = self.env._(
            "%(origin)s, recorded by %(user)s: %(proof)s",
            origin=origin,
            user=self.env.user.name,
            proof=(proof or "").strip(),
        )
        return self._sms_consent_set("opted_in", "staff", text if (proof or "").strip() else "")

    def action_sms_opt_out(self):
        """Stop all SMS to the contact's number (but essential ones)."""
        self._sms_consent_staff_check()
        self._sms_consent_set(
            "opted_out", "staff", self.env._("Recorded by %s", self.env.user.name), stop=True
        )

    def action_sms_marketing_opt_out(self):
        """No more marketing SMS; order, delivery and appointment SMS still go."""
        self._sms_consent_staff_check()
        self._sms_marketing_opt_out("staff", self.env._("Recorded by %s", self.env.user.name))

    def action_sms_request_consent(self):
        """Double opt-in: ask by SMS and wait for a YES."""
        self._sms_consent_staff_check(sms_user=True)
        self._sms_consent_request("staff", self.env._("Asked by %s", self.env.user.name))
        return True

    def _sms_consent_request_text(self):
        """The double opt-in question, in the environment's language."""
        company = self.env.company
        brand = company.sms_brand_name or company.name
        return self.env._(
            "%(brand)s: reply YES to receive our offers by SMS. Reply STOP to opt out, "
            "HELP for help. Msg & data rates may apply.",
            brand=brand,
        )

    # Language of the automatic SMS ------------------------------------------------

    @api.model
    def _sms_fallback_lang(self, company=None):
        """The language of automatic SMS to a contact without one (or to an unknown
        number): ``company``'s partner's (default: the current company), else English."""
        lang = (company or self.env.company).partner_id.lang
        return lang if lang in self._sms_installed_langs() else "en_US"

    @api.model
    def _sms_installed_langs(self):
        return {code for code, _name in self.env["res.lang"].get_installed()}

    def _sms_langs(self, company=None):
        """{partner id: language code} the automatic SMS to these contacts are written
        in (consent answers, courtesy reply, keyword-rule replies, journey templates):
        the contact's language, else the fallback of ``_sms_fallback_lang``. Only
        installed languages count. No query per contact: the installed languages are
        cached and the partners read in one batch."""
        installed = self._sms_installed_langs()
        fallback = self._sms_fallback_lang(company)
        return {
            partner.id: partner.lang if partner.lang in installed else fallback for partner in self
        }

    def _sms_number(self):
        """The number we text this contact on, the one answer for every sender (steps,
        preview, reply box, surveys, conversation): ``phone_sanitized`` (E.164, Odoo's
        sanitization of mobile, then phone), else the number as typed (mobile, then
        phone) so that Odoo's SMS fails it visibly as a wrong number format rather than
        the contact being silently skipped; False when the contact has no number."""
        self.ensure_one()
        return self.phone_sanitized or self.mobile or self.phone or False

    def _sms_lang(self, company=None):
        """The language of the automatic SMS to this contact (see ``_sms_langs``); an
        empty recordset (an unknown number) gets the fallback."""
        if not self:
            return self._sms_fallback_lang(company)
        self.ensure_one()
        return self._sms_langs(company)[self.id]

    # --- double opt-in asked by staff (the website's: sms.consent.request) -------------

    def _sms_consent_request(self, source, proof=""):
        """Double opt-in: mark these partners pending (with ``proof`` and the question
        asked) and ask them by SMS to answer YES."""
        requests = []
        partners = self.filtered("phone_sanitized")
        langs = partners._sms_langs()
        for partner in partners:
            # asked in the contact's language, and recorded as asked
            body = partner.with_context(lang=langs[partner.id])._sms_consent_request_text()
            partner._sms_consent_set("pending", source, "\n".join(filter(None, [proof, body])))
            requests.append(
                SmsRequest(body=body, partner=partner, kind="transactional", reply_link="confirm")
            )
        self.env["sms.sender"]._send(requests)
