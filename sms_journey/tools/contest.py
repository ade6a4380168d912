"""The draw of an SMS contest: pure, so that anyone can re-run it from its seed.

``draw(entries, count, seed)`` depends only on its arguments: the entries are put in a
canonical order (sorted) before ``random.Random(seed)`` samples them, so the database
order of the entries does not matter. ``random.Random`` seeded with a string hashes it
with SHA-512 (seed version 2), stable across Python versions and platforms. Re-run a
published draw with::

    python -c "from sms_journey.tools.contest import draw; print(draw([...], 3, 'seed'))"
"""

import random
import secrets
from collections.abc import Iterable


def new_seed() -> str:
    """A fresh, unpredictable seed to record before drawing."""
    return secrets.token_hex(16)


def draw(entries: Iterable[str], count: int, seed: str) -> list[str]:
    """``count`` distinct winners among ``entries`` (all of them when fewer), in the
    order drawn. Duplicate entries count once."""
    pool = sorted(set(entries))
    return random.Random(seed).sample(pool, min(max(count, 0), len(pool)))
