"""Who may change SMS consent, and the proof of a consent given on a web page.

Plain Python (no ORM) so that the rules are written once and tested without a database.

The consent matrix (``res.partner._sms_consent_set`` asks :func:`consent_refusal`, and
nothing else writes the consent state):

========================  ==============  ===============================================
actor                     source          may
========================  ==============  ===============================================
the contact, from the     ``keyword``,    anything: STOP, START, a YES confirming a
number (SMS / carrier)    ``provider``    double opt-in; only they lift a STOP
staff (SMS user)          ``staff``       opt out always; opt in only with a proof, never
                                          over a STOP; ask a double opt-in by SMS
import (``load``)         ``import``      opt out always; opt in only with a proof
                                          column, never over a STOP
internal code             ``api``,        opt out always; opt in only with a proof, never
(journeys, blacklist)     ``blacklist``   over a STOP
website visitor           ``web_form``,   never writes a contact's consent: asks the
                          ``checkout``    number typed to confirm by SMS (a pending
                                          ``sms.consent.request``), rate-limited
JSON-RPC client           (none)          nothing: ``write``/``create`` refuse the
                                          consent fields; buttons re-check rights
========================  ==============  ===============================================

A STOP is an opt-out the contact gave: the number is on the blacklist, or the contact's
last opt-out came from the number itself (``keyword``/``provider``).
"""

from dataclasses import dataclass
from datetime import datetime

# Sources that are the contact acting from their own number.
CONTACT_SOURCES = frozenset({"keyword", "provider"})

# Refusals of consent_refusal()
STOPPED = "stopped"
NO_PROOF = "no_proof"

# Refusals of confirmation_refusal()
BLACKLISTED = "blacklisted"
NUMBER_LIMIT = "number_limit"
IP_LIMIT = "ip_limit"
SESSION_LIMIT = "session_limit"


def is_stopped(state, source, blacklisted):
    """Whether the contact stopped SMS themselves (see the module docstring)."""
    return bool(blacklisted) or (state == "opted_out" and source in CONTACT_SOURCES)


def consent_refusal(new_state, source, proof, *, state, state_source, blacklisted):
    """Why ``source`` may not move a contact (``state`` recorded by ``state_source``,
    its number ``blacklisted`` or not) to ``new_state`` with ``proof``; None if it may.

    - an opt-out is always allowed, from anyone;
    - the contact (``CONTACT_SOURCES``) may do anything;
    - nobody else lifts a STOP, not even to ``unknown`` or ``pending``;
    - an opt-in from anyone else needs a proof.
    """
    if new_state == "opted_out" or source in CONTACT_SOURCES:
        return None
    if is_stopped(state, state_source, blacklisted):
        return STOPPED
    if new_state == "opted_in" and not (proof or "").strip():
        return NO_PROOF
    return None


@dataclass(frozen=True)
class ConfirmationLimits:
    """How many double opt-in SMS a website may send in ``hours``: per number typed, per
    client address and per browser session."""

    per_number: int = 1
    per_ip: int = 3
    per_session: int = 3
    hours: int = 24


CONFIRMATION_LIMITS = ConfirmationLimits()


def confirmation_refusal(
    *, blacklisted, sent_to_number, sent_from_ip, sent_from_session, limits=CONFIRMATION_LIMITS
):
    """Why a website may not text a double opt-in question now (None if it may), given
    how many it sent in the last ``limits.hours`` to the number, from the address and
    from the session. A blacklisted number never gets one."""
    if blacklisted:
        return BLACKLISTED
    if sent_to_number >= limits.per_number:
        return NUMBER_LIMIT
    if sent_from_ip >= limits.per_ip:
        return IP_LIMIT
    if sent_from_session >= limits.per_session:
        return SESSION_LIMIT
    return None


@dataclass(frozen=True)
class WebConsent:
    """A consent checkbox ticked on a web page."""

    text: str  # the exact checkbox text shown to the customer
    page: str  # the page the form was on (its URL or path)
    moment: datetime  # when the form was submitted (UTC, naive)
    ip: str = ""
    user_agent: str = ""
    session_key: str = ""  # a hash of the browser session (rate limits; not in the proof)

    def proof(self) -> str:
        """The proof kept in the consent log, one fact per line, in a fixed order."""
        lines = [
            f"Text shown: {self.text}",
            f"Page: {self.page}",
            f"Time (UTC): {self.moment.strftime('%Y-%m-%d %H:%M:%S')}",
            f"IP: {self.ip or '-'}",
        ]
        if self.user_agent:
            lines.append(f"User agent: {self.user_agent}")
        return "\n".join(lines)
