"""Pure helpers of the behaviour triggers (browse abandonment, price drop).

No Odoo import: ``sms.journey`` (``models/sms_journey_behaviour.py``) calls them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Drop:
    """A price that fell from ``old`` to ``new``."""

    old: float
    new: float


@dataclass(frozen=True)
class PriceScan:
    """One price-drop scan: ``prices`` {(product, pricelist): price} now, ``drops``
    {(product, pricelist): ``Drop``} against the prices last seen, and the last page
    view read (``last_track_id``)."""

    prices: dict
    drops: dict
    last_track_id: int


def dropped_by(old, new):
    """How much ``new`` is below ``old``, in % of ``old`` (0 when it is not below)."""
    if not old or old <= 0 or new is None or new >= old:
        return 0.0
    return (old - new) * 100.0 / old


def price_drops(seen, prices, percent):
    """{key: ``Drop``} of the ``prices`` at least ``percent`` % below the price
    ``seen`` under the same key (keys never seen before are no drop)."""
    threshold = max(percent or 0.0, 0.0)
    drops = {}
    for key, new in prices.items():
        old = seen.get(key)
        fall = dropped_by(old, new)
        # a rounding hair below the threshold still counts (20.0 % may be 19.999…)
        if fall > 0 and fall >= threshold - 1e-9:
            drops[key] = Drop(old, round(new, 6))
    return drops


def dropped_everywhere(prices, drops):
    """{product: ``Drop``} of the products whose price fell under every pricelist
    priced (keys ``(product, pricelist)``): their viewers need no pricelist lookup. The
    ``Drop`` is the one of the lowest pricelist key."""
    keys = {}
    for product, pricelist in prices:
        keys.setdefault(product, []).append(pricelist)
    return {
        product: drops[(product, min(pricelists))]
        for product, pricelists in keys.items()
        if all((product, pricelist) in drops for pricelist in pricelists)
    }
