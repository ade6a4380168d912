"""Signatures of journey short links: ``/r/<code>/j/<trace id>/<signature>``.

A journey SMS carries its trace id in its links, so that a click tells which SMS (which
participant) was clicked. The short code is shared by every SMS of a batch with the same
text, and trace ids are sequential: without a signature a recipient could change the id
and click for somebody else. The signature is an HMAC of ``code:trace id`` with a key
derived from the database secret, cut to :data:`SIGNATURE_LENGTH` base32 characters —
short because every character of an SMS counts, long enough (50 bits) that guessing one
over HTTP is hopeless. Lower-case base32 has no character a phone or a URL mangles.
"""

import base64
import hashlib
import hmac

SIGNATURE_LENGTH = 10
# separates the link key from other uses of the same database secret
_KEY_SCOPE = b"sms_journey.short_link"


def link_key(secret):
    """The signing key of short links, derived from ``secret`` (the database secret)."""
    if not secret:
        raise ValueError("a secret is required to sign short links")
    return hmac.new(str(secret).encode(), _KEY_SCOPE, hashlib.sha256).digest()


def sign(key, code, trace_id):
    """The signature of the link of trace ``trace_id`` with short code ``code``."""
    digest = hmac.new(key, f"{code}:{int(trace_id)}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest)[:SIGNATURE_LENGTH].decode().lower()


def verify(key, code, trace_id, signature):
    """Whether ``signature`` is the one of ``(code, trace_id)``, in constant time."""
    if not signature or not isinstance(signature, str):
        return False
    expected = sign(key, code, trace_id)
    return hmac.compare_digest(expected.encode(), signature.encode())
