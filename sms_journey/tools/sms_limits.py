"""How long an SMS may be: the gateway's hard limit, and when a template is long enough
to need a confirmation.

One rule, asked by every place a person types an SMS before anything is queued (the
reply box, the composer, templates, survey questions, SMS mailings) and sent to the
browser's counter (``static/src/sms_encoding/``) with the session, so that the counter
and the server refuse the same texts.

Lengths are counted in characters (code points), as the providers count them:

* **Twilio**: a message body of at most 1,600 characters (Twilio's error 21617, "The
  concatenated message body exceeds the 1600 character limit"; error 21605's page: "You
  can send messages up to 1600 characters long by using the /Messages API endpoint").
* **Sandbox**: the loopback server speaks Twilio's API and refuses what Twilio refuses
  (``gateways/loopback/twilio_format.py``: 21617 past 1,600 characters): the same limit.
* **Vonage**: Vonage's SMS API documents the refusal (status 12, "Message Too Long. The
  message length exceeds the maximum allowed", developer.vonage.com/en/api-errors/sms)
  but neither its reference (the ``text`` parameter has no maximum) nor its
  concatenation guide (developer.vonage.com/messaging/sms/guides/concatenation-and-encoding)
  gives the figure. The figures used are the ones published for Vonage's SMS by its
  Japanese distributor (KDDI Web Communications, "Vonage SMS ガイド",
  zenn.dev/kwcplus/articles/vonage-sms-guide): 3,800 characters of GSM text, 660 of
  Unicode text.
* **Odoo IAP** (no gateway): Odoo neither counts a maximum nor refuses a long text (its
  composer only shows the count, ``sms/static/src/components/sms_widget``; IAP bills
  per SMS part): no hard limit, the advice on long texts still shows.

A template past :data:`LONG_TEXT_SEGMENTS` segments is billed as that many SMS for every
recipient: saving it needs an explicit confirmation (``sms.template.long_text_confirmed``).
"""

from dataclasses import dataclass

from .encoding import GSM7, UCS2, analyze

#: Past this many segments a template needs the "long text confirmed" box ticked.
LONG_TEXT_SEGMENTS = 10

TWILIO_MAX_LENGTH = 1600


@dataclass(frozen=True)
class GatewayLimit:
    """The longest text a provider accepts, in characters, per encoding."""

    provider: str
    gsm7: int
    ucs2: int

    def for_text(self, text):
        """The limit that applies to ``text`` (its encoding decides)."""
        return self.ucs2 if analyze(text).encoding == UCS2 else self.gsm7


GATEWAY_LIMITS = {
    "twilio": GatewayLimit("Twilio", TWILIO_MAX_LENGTH, TWILIO_MAX_LENGTH),
    "sandbox": GatewayLimit("Sandbox", TWILIO_MAX_LENGTH, TWILIO_MAX_LENGTH),
    "vonage": GatewayLimit("Vonage", 3800, 660),
}


@dataclass(frozen=True)
class LengthRefusal:
    """Why a text is refused: ``length`` characters where ``provider`` takes ``limit``."""

    provider: str
    length: int
    limit: int

    @property
    def reason(self):
        """The reason in English (logs, tests); models and the browser translate theirs."""
        return (
            f"{self.length:,} characters: {self.provider} accepts at most {self.limit:,}. "
            "Shorten the text."
        )


def gateway_limit(gateway_code):
    """The :class:`GatewayLimit` of a gateway's provider code, or None (no gateway:
    Odoo's IAP, or a provider without a known limit)."""
    return GATEWAY_LIMITS.get(gateway_code or "")


def text_length(text):
    """Characters of ``text`` as providers count them (code points; ``False`` is empty)."""
    return len(text or "")


def max_length(gateway_code, text=""):
    """The most characters ``gateway_code`` accepts for a text like ``text`` (GSM-7 by
    default), or None when nothing is enforced."""
    limit = gateway_limit(gateway_code)
    return limit.for_text(text or "") if limit else None


def check_length(text, gateway_code):
    """A :class:`LengthRefusal` when ``text`` is longer than ``gateway_code`` accepts,
    else None."""
    limit = max_length(gateway_code, text)
    length = text_length(text)
    if limit is None or length <= limit:
        return None
    return LengthRefusal(GATEWAY_LIMITS[gateway_code].provider, length, limit)


def needs_long_text_confirmation(text, segments=LONG_TEXT_SEGMENTS):
    """Whether ``text`` takes more than ``segments`` SMS segments."""
    return analyze(text or "").segments > segments


def client_limits(gateway_code):
    """What the browser's counter needs to refuse as the server does (session info)."""
    limit = gateway_limit(gateway_code)
    return {
        "provider": limit.provider if limit else None,
        GSM7: limit.gsm7 if limit else None,
        UCS2: limit.ucs2 if limit else None,
        "long_text_segments": LONG_TEXT_SEGMENTS,
    }
