"""The global control group: which contacts a company holds out of every marketing
program for a period.

No Odoo import; tested with pytest and hypothesis.

A period has a share (percent) and a seed recorded when it starts. A contact is held out
when the *bucket* of (seed, partner id) falls under the share's *threshold*. The bucket
is a 32-bit integer hash (an xor with a key drawn from the seed, then two rounds of a
multiply-xorshift mixer) that PostgreSQL computes with the same integer operations
(``sms.global.holdout.period``'s SQL function): the report reads the draw of a million
contacts in SQL in a fraction of a second, where a cryptographic hash per row would take
seconds. Nothing per contact is stored: contacts created during the period are drawn too.

- Same seed and id, same draw; a new period has a new seed, hence a new draw.
- The mixer is a bijection of 32-bit integers: over many ids the share held out follows
  the percent.
"""

import hashlib
import secrets

MASK = 0xFFFFFFFF
MULTIPLIER = 0x45D9F3B
BITS = 32
# a period's kept sums are built for every contact id below this (the report's refresh)
BUILT = 2**31 - 1


def new_seed():
    """A fresh seed for a new period (recorded on the period)."""
    return secrets.token_hex(8)


def seed_key(seed):
    """The 32-bit key a seed text stands for (the SQL function takes it as a number)."""
    return int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:4], "big")


def bucket(key, partner_id):
    """The 32-bit bucket of ``partner_id`` under ``key`` (``seed_key``)."""
    x = (partner_id ^ key) & MASK
    x = (((x >> 16) ^ x) * MULTIPLIER) & MASK
    x = (((x >> 16) ^ x) * MULTIPLIER) & MASK
    return (x >> 16) ^ x


def threshold(percent):
    """Buckets under this number are held out: ``percent`` % (0–100) of the range."""
    percent = min(max(percent or 0.0, 0.0), 100.0)
    return int(percent * (1 << BITS) // 100)


def held_out(seed, partner_id, percent):
    """Whether contact ``partner_id`` is in the control group of a period of
    ``percent`` % drawn with ``seed``."""
    if not seed or not partner_id:
        return False
    return bucket(seed_key(seed), partner_id) < threshold(percent)


def is_running(start, end, now):
    """Whether a period from ``start`` to ``end`` (``end`` excluded) holds at ``now``."""
    return bool(start) and start <= now and (not end or now < end)
