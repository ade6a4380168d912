import contextvars
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import consent as consent_tools
from ..tools import phone as phone_tools
from ..tools import schedule
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

JOURNEY_STAGES = [
    ("first_contact", "First contact"),
    ("orientation", "Orientation"),
    ("interaction", "Interaction"),
    ("loyalty", "Loyalty"),
    ("expansion", "Expansion"),
]
STAGE_ORDER = [key for key, _label in JOURNEY_STAGES]

# Facts written in SQL by the methods below: flushed before, invalidated after.
ACTIVITY_FIELDS = [
    "first_order_date",
    "last_order_date",
    "last_interaction_date",
    "last_activity_date",
    "journey_stage",
]
# Date fields whose yearly recurrence the journey crons look up (one expression index each).
ANNIVERSARY_FIELDS = ("birthdate_date", "first_order_date")

_SEARCH_OPERATORS = {
    # days_inactive <op> N  ->  last_activity_date <reversed op> today - N
    ">=": "<=",
    ">": "<",
    "<=": ">=",
    "<": ">",
    "=": "=",
}
_COMPARE = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def month_day_sql(field):
    """``month * 100 + day`` of a date column of res_partner, as written in its expression
    index (``month_day_index_sql``) and in the anniversary lookups."""
    if field not in ANNIVERSARY_FIELDS:
        raise ValueError(f"No anniversary lookup on field {field!r}")
    column = SQL.identifier(field)
    return SQL("((EXTRACT(MONTH FROM %s) * 100 + EXTRACT(DAY FROM %s))::int)", column, column)


def month_day_index_sql(field):
    """The expression index of the yearly lookups on ``field`` (``_sms_anniversary_ids``)."""
    return SQL(
        "CREATE INDEX IF NOT EXISTS %s ON res_partner (%s) WHERE %s IS NOT NULL",
        SQL.identifier(f"res_partner_{field}_month_day_index"),
        month_day_sql(field),
        SQL.identifier(field),
    )


def _glance(string, field_class=fields.Integer):
    """A fact of the contact at a glance: computed with the others, for SMS users."""
    return field_class(
        string,
        compute="_compute_sms_conversation_facts",
        groups="sms_journey.group_sms_journey_user",
    )


class ResPartner(models.Model):
    """SMS consent of a contact, and the customer facts the SMS journeys select on.

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

    Customer facts: order dates, last interaction, inactivity, birthday and journey
    stage.

    Where facts are kept: every fact is maintained on both the order's (or the SMS
    sender's) partner and its commercial partner. A company thus sees the orders and
    replies of all its contacts, and each contact keeps its own; an individual customer is
    its own commercial partner.

    How they stay current: by events, never by rescanning all partners. Confirming or
    cancelling sale orders refreshes the facts of their customers in one SQL statement
    (``_sms_recompute_activity_facts``); a new quote or cart moves a first contact to
    *orientation*; an inbound SMS (and a short-link click, wired by the journeys) calls
    ``_sms_touch_interaction``. ``_sms_recompute_activity_facts()`` without partners
    rebuilds everything from the orders and inbound SMS; after the install the backfill
    job does it in committed batches of ids (``res_partner_facts_backfill.py``).

    Rules:

    - first/last order dates are the UTC dates of confirmed orders (state ``sale``) by
      ``date_order`` (the confirmation time); a cancellation recomputes them, so they
      always describe the orders still confirmed;
    - ``last_interaction_date`` and ``last_activity_date`` only move forward: an order
      confirmed and then cancelled still was an interaction;
    - ``journey_stage`` is never downgraded automatically: first contact → orientation
      (quotes or carts, no order) → interaction (a confirmed order) → loyalty (a confirmed
      order within the company's loyalty window after the previous one) → expansion (set
      by rules or by hand only);
    - ``days_inactive`` counts from ``last_activity_date``; partners who never ordered nor
      interacted are not inactive (0 days);
    - website visits of a signed-in customer (``website.visitor``) and e-mail opens,
      clicks and replies of mass mailings (``mailing.trace``) are interactions too, each
      switchable per company (*Settings → SMS Journeys*); they move a first contact to
      *orientation* (``_sms_touch_engagement``, called when the visit or the trace is
      recorded: one UPDATE per event, the same as a click).

    Audience helpers for the crons (``_sms_inactive_crossing_ids``, ``_sms_birthday_ids``,
    ``_sms_anniversary_ids``) are single indexed queries returning ids of active partners.
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

    # the contact at a glance (smart buttons), for SMS users
    sms_sent_count = _glance("SMS sent")
    sms_received_count = _glance("SMS received")
    sms_journey_participant_count = _glance("Journeys")
    sms_survey_answer_count = _glance("Survey answers")
    sms_consent_log_count = _glance("Consent changes")
    sms_last_message = _glance("Last SMS", fields.Char)

    birthdate_date = fields.Date("Birth date")
    first_order_date = fields.Date(
        "First order", readonly=True, copy=False, help="Date of the first confirmed order."
    )
    last_order_date = fields.Date(
        "Last order", readonly=True, copy=False, help="Date of the last confirmed order."
    )
    last_interaction_date = fields.Datetime(
        "Last interaction",
        readonly=True,
        copy=False,
        help="Latest order confirmation, inbound SMS, short-link click, website visit or "
        "e-mail open / click (the last two per the company's settings).",
    )
    last_activity_date = fields.Date(
        "Last activity",
        compute="_compute_last_activity_date",
        store=True,
        index=True,
        copy=False,
        help="The later of the last order and the last interaction: inactivity counts "
        "from this date.",
    )
    days_inactive = fields.Integer(
        "Days inactive",
        compute="_compute_days_inactive",
        search="_search_days_inactive",
        help="Days since the last activity (0 for contacts without any activity).",
    )
    is_inactive = fields.Boolean(
        "Inactive customer",
        compute="_compute_days_inactive",
        search="_search_is_inactive",
        help="Inactive for at least the company's inactivity threshold.",
    )
    journey_stage = fields.Selection(
        JOURNEY_STAGES,
        "Journey stage",
        default="first_contact",
        required=True,
        index=True,
        copy=False,
        help="Kept up to date by orders and quotes, never downgraded automatically. "
        "Expansion is set by rules or by hand.",
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
                _(
                    "An import may give the SMS consent state and its proof only: the source "
                    "is recorded as Import and the date as the time of the import."
                )
            )
        raise UserError(
            _(
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
            raise UserError(_("An imported SMS consent proof needs a consent state."))
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
        blacklist = self.env["phone.blacklist"].sudo()
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
                if partner_number and state == "opted_out" and stop:
                    blacklist._sms_journey_add([partner_number], _("SMS opt-out (%s)", source))
                elif partner_number and state == "opted_in":
                    blacklist._sms_journey_remove([partner_number], _("SMS opt-in (%s)", source))
        finally:
            _CONSENT_WRITER.reset(token)
        self.env["sms.consent.log"].sudo().create(logs)
        # The blacklist flags are computed from phone.blacklist without a dependency.
        self.invalidate_recordset(
            ["phone_sanitized_blacklisted", "phone_blacklisted", "mobile_blacklisted"]
        )
        self.env["sms.gateway.message"]._cancel_refused_for_numbers([number], partners=self)
        return True

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
            if refusal == consent_tools.STOPPED:
                raise UserError(
                    _(
                        "%(name)s stopped SMS from their number: only they can subscribe "
                        "again, by replying START or confirming a request by SMS.",
                        name=partner.display_name,
                    )
                )
            if refusal == consent_tools.NO_PROOF:
                raise UserError(
                    _(
                        "An SMS opt-in for %(name)s needs its proof: how and when the "
                        "contact agreed (a signed form, a recorded call…).",
                        name=partner.display_name,
                    )
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
                [e164], _("SMS opt-out (%s)", source)
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
                [e164], _("SMS opt-in (%s)", source)
            )
        return partners

    # Staff buttons: public, so they re-check rights and hand a proof to _sms_consent_set.

    def _sms_consent_staff_check(self, sms_user=False):
        """Any employee who sees the contacts may record an opt-out; an opt-in or a
        double opt-in request takes an SMS user."""
        self.check_access("read")
        if not self.env.user._is_internal():
            raise AccessError(_("Only employees can record SMS consent."))
        if sms_user and not self.env.user.has_group("sms_journey.group_sms_journey_user"):
            raise AccessError(_("Only SMS users can record an SMS opt-in or ask for one."))

    def action_sms_opt_in(self):
        """Open the form that records an opt-in with its proof (``sms.consent.opt.in``)."""
        self._sms_consent_staff_check(sms_user=True)
        return {
            "type": "ir.actions.act_window",
            "name": _("Record an SMS opt-in"),
            "res_model": "sms.consent.opt.in",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_ids": self.ids},
        }

    def _sms_staff_opt_in(self, origin, proof):
        """An opt-in an SMS user records with its proof (never over a STOP)."""
        self._sms_consent_staff_check(sms_user=True)
        text = _(
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
            "opted_out", "staff", _("Recorded by %s", self.env.user.name), stop=True
        )

    def action_sms_marketing_opt_out(self):
        """No more marketing SMS; order, delivery and appointment SMS still go."""
        self._sms_consent_staff_check()
        self._sms_marketing_opt_out("staff", _("Recorded by %s", self.env.user.name))

    def action_sms_request_consent(self):
        """Double opt-in: ask by SMS and wait for a YES."""
        self._sms_consent_staff_check(sms_user=True)
        self._sms_consent_request("staff", _("Asked by %s", self.env.user.name))
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
            partner.id: partner.lang if partner.lang in installed else fallback
            for partner in self
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

    # SMS conversation --------------------------------------------------------------

    def _compute_sms_conversation_facts(self):
        """The contact at a glance: SMS sent and received, journeys, survey answers,
        consent changes and the last SMS, each counted in one query per model."""
        conversation = self.env["sms.conversation.message"]
        participants = dict(
            self.env["sms.journey.participant"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        answers = dict(
            self.env["sms.survey.answer"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        consents = dict(
            self.env["sms.consent.log"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            domain = conversation._conversation_domain(partner)
            counts = dict(conversation._read_group(domain, ["direction"], ["__count"]))
            last = conversation.search(domain, limit=1)
            partner.sms_sent_count = counts.get("out", 0)
            partner.sms_received_count = counts.get("in", 0)
            partner.sms_journey_participant_count = participants.get(partner, 0)
            partner.sms_survey_answer_count = answers.get(partner, 0)
            partner.sms_consent_log_count = consents.get(partner, 0)
            # an empty recordset would be written as its repr, "sms.conversation.message()"
            partner.sms_last_message = bool(last) and "{} {}: {}".format(
                "←" if last.direction == "in" else "→",
                fields.Datetime.to_string(last.date)[:16],
                last._conversation_rows()[0]["body"][:80],
            )

    def sms_conversation_read(self, offset=0, limit=30):
        """A page of the contact's SMS conversation for the contact form's widget: the
        ``limit`` latest messages after skipping ``offset`` newer ones, oldest first,
        and whether older ones remain."""
        self.ensure_one()
        conversation = self.env["sms.conversation.message"]
        conversation.invalidate_model()  # rows of a view: their sources may have changed
        messages = conversation.search(
            conversation._conversation_domain(self), offset=offset, limit=limit + 1
        )
        return {
            "messages": messages[:limit]._conversation_rows(),
            "has_more": len(messages) > limit,
            "can_reply": bool(self._sms_number()),
        }

    def sms_conversation_send(self, body):
        """The reply box: send ``body`` to the contact through the one door to send
        (``sms.sender._send``, policy applied), as a transactional one-to-one answer,
        logged on the contact's chatter. Returns the conversation's new state."""
        self.ensure_one()
        self.env["sms.conversation.message"].check_access("read")
        self.check_access("read")
        body = (body or "").strip()
        if not body:
            raise UserError(_("Type a message first."))
        if not self._sms_number():
            raise UserError(_("%s has no phone number.", self.display_name))
        self.env["sms.sender"]._send([SmsRequest(body=body, partner=self, kind="transactional")])
        return self.sms_conversation_read()

    def action_view_sms_conversation(self):
        """The contact's SMS as a list (smart button)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_journey.sms_conversation_message_action"
        )
        action["domain"] = self.env["sms.conversation.message"]._conversation_domain(self)
        action["context"] = {}
        return action

    def action_view_sms_journey_participants(self):
        return self._sms_related_action("sms_journey.sms_journey_participant_action")

    def action_view_sms_survey_answers(self):
        return self._sms_related_action("sms_journey.sms_survey_answer_action")

    def _sms_related_action(self, xmlid):
        """The action ``xmlid`` on the records of this contact (smart buttons)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_sms_consent_log(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_journey.sms_consent_log_action")
        action["domain"] = [("partner_id", "=", self.id)]
        return action

    def init(self):
        super().init()
        # Birthday and anniversary crons look partners up by month and day of a date; this
        # expression (month * 100 + day) matches the one in _sms_anniversary_ids.
        # (Built already by the pre_init_hook at install, see hooks.py.)
        for fname in ANNIVERSARY_FIELDS:
            self.env.cr.execute(month_day_index_sql(fname))

    # computes -------------------------------------------------------------------------

    @api.depends("last_order_date", "last_interaction_date")
    def _compute_last_activity_date(self):
        for partner in self:
            dates = [
                partner.last_order_date,
                partner.last_interaction_date and partner.last_interaction_date.date(),
            ]
            partner.last_activity_date = max(filter(None, dates), default=False)

    @api.depends("last_activity_date")
    @api.depends_context("company")
    def _compute_days_inactive(self):
        today = fields.Date.context_today(self)
        threshold = self.env.company.sms_inactivity_days
        for partner in self:
            last = partner.last_activity_date
            days = max((today - last).days, 0) if last else 0
            partner.days_inactive = days
            partner.is_inactive = bool(last) and days >= threshold

    def _search_days_inactive(self, operator, value):
        """``days_inactive >= N`` becomes ``last_activity_date <= today - N``: an index
        range scan. Contacts without activity count as 0 days inactive."""
        if operator == "!=":
            return ["!", *self._search_days_inactive("=", value)]
        if operator not in _SEARCH_OPERATORS or isinstance(value, bool):
            raise UserError(_("Unsupported search on days inactive: %s %s", operator, value))
        try:
            days = int(value)
        except (TypeError, ValueError):
            raise UserError(_("Days inactive must be compared with a number.")) from None
        limit = fields.Date.context_today(self) - timedelta(days=days)
        domain = [("last_activity_date", _SEARCH_OPERATORS[operator], limit)]
        if _COMPARE[operator](0, days):
            domain = expression.OR([domain, [("last_activity_date", "=", False)]])
        return domain

    def _search_is_inactive(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(_("Unsupported search on inactive customers: %s", operator))
        inactive = self._search_days_inactive(">=", self.env.company.sms_inactivity_days)
        # Without activity nobody is inactive, whatever the threshold.
        inactive = expression.AND([inactive, [("last_activity_date", "!=", False)]])
        if (operator == "=") == bool(value):
            return inactive
        return ["!", *inactive]

    # events ---------------------------------------------------------------------------

    def _sms_activity_partners(self):
        """The partners whose facts an event on ``self`` changes: themselves and their
        commercial partners."""
        return self | self.commercial_partner_id

    def _sms_touch_interaction(self, when, granularity=None, orient=False):
        """Record an interaction (inbound SMS, short-link click, survey answer) at
        ``when`` (naive UTC datetime) on these partners and their commercial partners,
        in one UPDATE; dates only move forward. Safe on an empty recordset.

        :param granularity: a ``timedelta``; the row is only written when its last
            interaction is older than ``when - granularity`` (website visits: one write
            per hour of browsing, not one per page, since inactivity counts in days).
        :param orient: first contacts also move to *orientation*.
        """
        if not self or not when:
            return
        when = fields.Datetime.to_datetime(when)
        partners = self._sms_activity_partners()
        self._sms_flush_activity()
        stage = SQL(
            """, journey_stage = CASE WHEN journey_stage = 'first_contact'
                                      THEN 'orientation' ELSE journey_stage END"""
            if orient
            else ""
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner
                   SET last_interaction_date = %(when)s,
                       last_activity_date = GREATEST(last_activity_date, %(when)s::date)
                       %(stage)s
                 WHERE id = ANY(%(ids)s)
                   AND (last_interaction_date IS NULL OR last_interaction_date < %(older)s)
                """,
                when=when,
                stage=stage,
                older=when - granularity if granularity else when,
                ids=partners.ids,
            )
        )
        partners.invalidate_recordset(ACTIVITY_FIELDS)

    def _sms_touch_engagement(self, when, granularity=None):
        """A website visit or an e-mail open / click / reply of these partners at
        ``when`` (naive UTC): an interaction that also moves first contacts to
        *orientation* (they looked at what we offer)."""
        self._sms_touch_interaction(when, granularity=granularity, orient=True)

    def _sms_engagement_switched_on(self, switch):
        """These partners whose company (else the current one) has the activity
        ``switch`` on (``sms_activity_website_visits`` / ``sms_activity_email_engagement``)."""
        default = self.env.company[switch]
        return self.filtered(
            lambda partner: partner.company_id[switch] if partner.company_id else default
        )

    def _sms_mark_orientation(self):
        """A quote or cart exists for these partners: first contacts move to orientation."""
        partners = self._sms_activity_partners()
        if not partners:
            return
        self._sms_flush_activity()
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner SET journey_stage = 'orientation'
                 WHERE id = ANY(%s) AND journey_stage = 'first_contact'
                """,
                partners.ids,
            )
        )
        partners.invalidate_recordset(["journey_stage"])

    @api.model
    def _sms_recompute_activity_facts(self, partner_ids=None, id_range=None):
        """Rebuild the order facts and journey stage from sale orders and inbound SMS in
        one SQL statement. Only rows whose facts change are written, and only our
        columns: ``write_date`` of the contacts stays as it was.

        :param partner_ids: ids whose facts to refresh (their commercial partners are not
            added: pass them too, see ``_sms_activity_partners``); ``None`` for every
            partner (``id_range`` aside).
        :param id_range: ``(first, last)``: with ``partner_ids=None``, the partners whose
            id is in ``[first, last]``, from their whole history (orders, SMS, visits
            and e-mails): one batch of the backfill job (``_cron_sms_facts_backfill``).
        :returns: the number of partners updated.
        """
        if partner_ids is not None and not partner_ids:
            return 0
        self._sms_flush_activity()
        if partner_ids is None:
            first, last = id_range or (None, None)

            def in_range(column):
                if id_range is None:
                    return SQL("TRUE")
                return SQL("%s BETWEEN %s AND %s", SQL.identifier(*column.split(".")), first, last)

            own_filter = in_range("so.partner_id")
            commercial_filter = in_range("p.commercial_partner_id")
            sms_own_filter = in_range("i.partner_id")
            sms_commercial_filter = commercial_filter
            targets = SQL(
                """
                SELECT pid FROM (
                    SELECT pid FROM orders
                     UNION SELECT pid FROM sms
                     UNION SELECT pid FROM engaged
                     UNION SELECT id FROM res_partner WHERE first_order_date IS NOT NULL
                ) AS every_target
                 WHERE %s
                """,
                in_range("pid"),
            )
            engaged = self._sms_engagement_history_sql(
                scope=None
                if id_range is None
                else SQL(
                    "SELECT id FROM res_partner WHERE %s OR %s",
                    in_range("id"),
                    in_range("commercial_partner_id"),
                )
            )
        else:
            ids = list(partner_ids)
            own_filter = SQL("so.partner_id = ANY(%s)", ids)
            commercial_filter = SQL("p.commercial_partner_id = ANY(%s)", ids)
            sms_own_filter = SQL("i.partner_id = ANY(%s)", ids)
            sms_commercial_filter = commercial_filter
            targets = SQL("SELECT unnest(%s::int[]) AS pid", ids)
            # visits and e-mails were recorded as they happened (_sms_touch_engagement)
            # and last_interaction_date keeps them: no history scan for a few partners
            engaged = SQL("SELECT NULL::int AS pid, NULL::timestamp AS at WHERE FALSE")
        self.env.cr.execute(
            SQL(
                """
                WITH orders AS (
                    SELECT so.partner_id AS pid, so.state, so.date_order, so.company_id
                      FROM sale_order so
                     WHERE %(own_filter)s
                     UNION ALL
                    SELECT p.commercial_partner_id, so.state, so.date_order, so.company_id
                      FROM res_partner p
                      JOIN sale_order so ON so.partner_id = p.id
                     WHERE %(commercial_filter)s AND p.commercial_partner_id != p.id
                ),
                confirmed AS (
                    SELECT o.pid, o.date_order,
                           o.date_order - lag(o.date_order) OVER (
                               PARTITION BY o.pid ORDER BY o.date_order
                           ) <= make_interval(days => c.sms_loyalty_window_days) AS repeat
                      FROM orders o
                      JOIN res_company c ON c.id = o.company_id
                     WHERE o.state = 'sale'
                ),
                facts AS (
                    SELECT pid, min(date_order) AS first_at, max(date_order) AS last_at,
                           bool_or(COALESCE(repeat, FALSE)) AS loyal
                      FROM confirmed
                     GROUP BY pid
                ),
                quoted AS (
                    SELECT DISTINCT pid FROM orders
                ),
                sms AS (
                    SELECT pid, max(received_at) AS at
                      FROM (
                        SELECT i.partner_id AS pid, i.received_at
                          FROM sms_interaction i
                         WHERE %(sms_own_filter)s AND i.partner_id IS NOT NULL
                         UNION ALL
                        SELECT p.commercial_partner_id, i.received_at
                          FROM sms_interaction i
                          JOIN res_partner p ON p.id = i.partner_id
                         WHERE %(sms_commercial_filter)s AND p.commercial_partner_id != p.id
                      ) AS received
                     GROUP BY pid
                ),
                engaged AS (%(engaged)s),
                targets AS (%(targets)s),
                computed AS (
                    SELECT t.pid,
                           f.first_at::date AS first_order_date,
                           f.last_at::date AS last_order_date,
                           GREATEST(p.last_interaction_date, f.last_at, s.at, e.at) AS interaction,
                           GREATEST(
                               array_position(%(stages)s, p.journey_stage::varchar),
                               CASE WHEN f.loyal THEN 4
                                    WHEN f.pid IS NOT NULL THEN 3
                                    WHEN q.pid IS NOT NULL OR e.pid IS NOT NULL THEN 2
                                    ELSE 1 END
                           ) AS stage_rank
                      FROM targets t
                      JOIN res_partner p ON p.id = t.pid
                      LEFT JOIN facts f ON f.pid = t.pid
                      LEFT JOIN quoted q ON q.pid = t.pid
                      LEFT JOIN sms s ON s.pid = t.pid
                      LEFT JOIN (
                          SELECT pid, max(at) AS at FROM engaged GROUP BY pid
                      ) e ON e.pid = t.pid
                )
                UPDATE res_partner p
                   SET first_order_date = c.first_order_date,
                       last_order_date = c.last_order_date,
                       last_interaction_date = c.interaction,
                       last_activity_date = GREATEST(c.last_order_date, c.interaction::date),
                       journey_stage = (%(stages)s)[c.stage_rank]
                  FROM computed c
                 WHERE p.id = c.pid
                   AND (p.first_order_date, p.last_order_date, p.last_interaction_date,
                        p.last_activity_date, p.journey_stage)
                       IS DISTINCT FROM (
                        c.first_order_date, c.last_order_date, c.interaction,
                        GREATEST(c.last_order_date, c.interaction::date),
                        (%(stages)s)[c.stage_rank])
                """,
                own_filter=own_filter,
                commercial_filter=commercial_filter,
                sms_own_filter=sms_own_filter,
                sms_commercial_filter=sms_commercial_filter,
                targets=targets,
                engaged=engaged,
                stages=STAGE_ORDER,
            )
        )
        count = self.env.cr.rowcount
        self.invalidate_model(ACTIVITY_FIELDS)
        return count

    @api.model
    def _sms_engagement_history_sql(self, scope=None):
        """(pid, at) rows of every website visit of a signed-in customer and every e-mail
        open / click / reply of a contact, for the partners whose company (else the
        current one) counts them, and for their commercial partners: the history the
        full rebuild of ``_sms_recompute_activity_facts`` reads.

        :param scope: an ``SQL`` query of the partner ids whose visits and e-mails to
            read (a batch of the backfill), else all."""
        if scope is None:
            visit_scope = mail_scope = SQL("TRUE")
        else:
            visit_scope = SQL("v.partner_id IN (%s)", scope)
            mail_scope = SQL("t.res_id IN (%s)", scope)
        self.env["website.visitor"].flush_model(["partner_id", "last_connection_datetime"])
        self.env["mailing.trace"].flush_model(
            [
                "model",
                "res_id",
                "trace_type",
                "open_datetime",
                "links_click_datetime",
                "reply_datetime",
            ]
        )
        self.env["res.company"].flush_model(
            ["sms_activity_website_visits", "sms_activity_email_engagement"]
        )
        return SQL(
            """
            WITH raw AS (
                SELECT v.partner_id AS pid, v.last_connection_datetime AS at,
                       'visit' AS source
                  FROM website_visitor v
                 WHERE v.partner_id IS NOT NULL AND %(visit_scope)s
                 UNION ALL
                SELECT t.res_id, GREATEST(t.open_datetime, t.links_click_datetime,
                                          t.reply_datetime), 'email'
                  FROM mailing_trace t
                 WHERE t.model = 'res.partner' AND t.trace_type = 'mail' AND %(mail_scope)s
                   AND COALESCE(t.open_datetime, t.links_click_datetime,
                                t.reply_datetime) IS NOT NULL
            ),
            counted AS (
                SELECT r.pid, r.at, p.commercial_partner_id
                  FROM raw r
                  JOIN res_partner p ON p.id = r.pid
                  JOIN res_company c ON c.id = COALESCE(p.company_id, %(company)s)
                 WHERE (r.source = 'visit' AND c.sms_activity_website_visits)
                    OR (r.source = 'email' AND c.sms_activity_email_engagement)
            )
            SELECT pid, at FROM counted
             UNION ALL
            SELECT commercial_partner_id, at FROM counted
             WHERE commercial_partner_id IS NOT NULL AND commercial_partner_id != pid
            """,
            company=self.env.company.id,
            visit_scope=visit_scope,
            mail_scope=mail_scope,
        )

    def _sms_flush_activity(self):
        self.env["sale.order"].flush_model(["partner_id", "state", "date_order", "company_id"])
        self.env["sms.interaction"].flush_model(["partner_id", "received_at"])
        self.env["res.company"].flush_model(["sms_loyalty_window_days"])
        self.flush_model([*ACTIVITY_FIELDS, "commercial_partner_id", "active"])

    # audiences for the journey crons ----------------------------------------------------

    @api.model
    def _sms_inactive_crossing_ids(self, since_date, until_date):
        """Ids of active partners whose last activity is in ``(since_date, until_date]``.

        With ``until = today - threshold`` and ``since = until - 1 day`` these are the
        partners who became inactive today; one index range scan on last_activity_date.
        """
        self.flush_model(["last_activity_date", "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM res_partner
                 WHERE last_activity_date > %s AND last_activity_date <= %s AND active
                """,
                fields.Date.to_date(since_date),
                fields.Date.to_date(until_date),
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _sms_birthday_ids(self, day):
        """Ids of active partners whose birthday is ``day`` (born on 29 February: on
        28 February in non-leap years)."""
        return self._sms_anniversary_ids(day, "birthdate_date")

    @api.model
    def _sms_anniversary_ids(self, day, field="first_order_date"):
        """Ids of active partners for whom ``day`` is a yearly recurrence of ``field``
        (a date before ``day``), with the 29 February rule of birthdays.

        :param field: one of ``ANNIVERSARY_FIELDS`` (each backed by an expression index).
        """
        if field not in ANNIVERSARY_FIELDS:
            raise ValueError(f"No anniversary lookup on field {field!r}")
        day = fields.Date.to_date(day)
        keys = [month * 100 + mday for month, mday in schedule.month_days_celebrated_on(day)]
        self.flush_model([field, "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM res_partner
                 WHERE %(key)s = ANY(%(keys)s) AND %(field)s IS NOT NULL
                   AND %(field)s < %(day)s AND active
                """,
                key=self._sms_month_day_sql(field),
                keys=keys,
                field=SQL.identifier(field),
                day=day,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _sms_month_day_sql(self, field):
        """``month * 100 + day`` of a date column, as written in its expression index."""
        return month_day_sql(field)

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
            requests.append(SmsRequest(body=body, partner=partner, kind="transactional"))
        self.env["sms.sender"]._send(requests)
