"""Deferral decisions of the policy with legal send windows, for many recipients at once.

Issue 24's target: the decision (send now, or the first instant every window allows) for
100,000 marketing recipients spread over 50 time zones takes under a second. Plain
Python, no database: the policy (``tools/policy.py`` ``decide``) with the shipped rules
(US TCPA, Florida, France, as in ``data/sms_send_rule_data.xml``), the company's window
8:00-20:00, recipients whose zones come from their number (no contact zone: the hardest
case, every number parsed), at an instant outside most windows so that most are
deferred.

Measured apart: the facts of each number (its country, the zones of its prefix, the
legal rules that apply: ``phonenumbers`` parses every number once, caches cleared as after
a server start), then the decisions themselves, twice. The reference in the same run:
the same recipients decided without legal rules (the company window only, what the
policy did before issue 24). Wall and CPU time (the machine may be shared).

    python bench/bench_send_rules.py [--recipients 100000] [--zones 50]
"""

import argparse
import random
import sys
import time
import types
from collections import Counter
from datetime import datetime
from pathlib import Path

# the plain helpers without Odoo: ``sms_journey`` as a bare package (tools/tests/conftest.py)
_package = types.ModuleType("sms_journey")
_package.__path__ = [str(Path(__file__).resolve().parents[1] / "sms_journey")]
sys.modules.setdefault("sms_journey", _package)

from sms_journey.tools import phone, policy, send_rules  # noqa: E402
from sms_journey.tools.policy import Recipient, Rules  # noqa: E402
from sms_journey.tools.send_rules import SendRule, Window  # noqa: E402

FLORIDA_PREFIXES = send_rules.parse_prefixes(
    "+1239 +1305 +1321 +1352 +1386 +1407 +1448 +1561 +1645 +1656 +1689 +1727 +1754 +1772 "
    "+1786 +1813 +1850 +1863 +1904 +1941 +1954"
)
RULES = (
    SendRule("US TCPA", "US", Window(8, 21, label="US TCPA")),
    SendRule(
        "Florida",
        "US",
        Window(8, 20, label="Florida"),
        region="FL",
        prefixes=FLORIDA_PREFIXES,
        max_per_day=3,
    ),
    SendRule(
        "France",
        "FR",
        Window(
            0,
            0,
            weekdays=frozenset(range(6)),
            holidays=send_rules.parse_holidays("01-01 easter+1 05-01 07-14 12-25"),
            label="France",
        ),
    ),
)
# number prefixes and a national number length: US area codes of every US zone, then
# countries of one or several zones (Russia, Brazil, Australia, Canada, Mexico...)
PREFIXES = [
    ("+1212", 7), ("+1305", 7), ("+1312", 7), ("+1303", 7), ("+1602", 7), ("+1213", 7),
    ("+1907", 7), ("+1808", 7), ("+1850", 7), ("+1915", 7), ("+1270", 7), ("+1605", 7),
    ("+1416", 7), ("+1604", 7), ("+1403", 7), ("+1902", 7), ("+1709", 7), ("+1306", 7),
    ("+33612", 6), ("+39333", 7), ("+40722", 6), ("+34612", 6), ("+44791", 7), ("+49151", 8),
    ("+3161", 7), ("+3247", 7), ("+4179", 7), ("+4369", 8), ("+4560", 6), ("+4670", 7),
    ("+4790", 6), ("+35850", 7), ("+48600", 6), ("+420601", 6), ("+36201", 6), ("+30690", 7),
    ("+351912", 6), ("+353851", 6), ("+7912", 7), ("+7924", 7), ("+5511", 9), ("+5592", 9),
    ("+61412", 6), ("+61438", 6), ("+5255", 8), ("+5266", 8), ("+8190", 8), ("+8210", 8),
    ("+6591", 6), ("+91981", 7),
]  # fmt: skip


def recipients(count, zones_wanted, seed=7):
    """``count`` recipients on the first ``zones_wanted`` prefixes, numbers drawn at random."""
    rng = random.Random(seed)
    prefixes = PREFIXES[:zones_wanted]
    result = []
    for _ in range(count):
        prefix, digits = rng.choice(prefixes)
        number = prefix + str(rng.randrange(2 * 10 ** (digits - 1), 10**digits))
        result.append(number)
    return result


def clear_caches():
    for function in (
        phone.region_of,
        send_rules._number_facts,
        send_rules.known_zones,
        send_rules._first_allowed,
    ):
        cache_clear = getattr(function, "cache_clear", None)
        if cache_clear:
            cache_clear()


def number_facts(numbers, legal):
    """Each number's zones and legal rules, as the policy on records reads them."""
    return [
        (
            number,
            send_rules.recipient_zones(None, number, "Europe/Rome"),
            send_rules.applicable_rules(RULES, number) if legal else (),
        )
        for number in numbers
    ]


def decide_all(facts, now, rules):
    decisions = Counter()
    for number, zones, legal_rules in facts:
        recipient = Recipient(
            number, consent="opted_in", tz="Europe/Rome", zones=zones, legal_rules=legal_rules
        )
        decisions[policy.decide("marketing", recipient, rules, now).action] += 1
    return decisions


def timed(function, *args):
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - started, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=50)
    args = parser.parse_args()
    numbers = recipients(args.recipients, args.zones)
    # Sunday 7 June 2026, 03:30 UTC: night in the Americas, a Sunday for France
    now = datetime(2026, 6, 7, 3, 30)
    rules = Rules(window_start=8.0, window_end=20.0)
    count = len(numbers)
    for label, legal in (("company window only", False), ("with legal rules", True)):
        clear_caches()
        facts, wall, cpu = timed(number_facts, numbers, legal)
        zone_sets = {zones for _n, zones, _r in facts}
        print(
            f"{label}: {count:,} recipients, {len(set(numbers)):,} numbers, "
            f"{len({z for zs in zone_sets for z in zs})} zones in {len(zone_sets)} sets"
        )
        print(
            f"  number facts (parse, zones, rules), cold: {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"({cpu / count * 1e6:.0f} µs CPU per number)"
        )
        for passe in ("first", "second"):
            decisions, wall, cpu = timed(decide_all, facts, now, rules)
            print(
                f"  decisions, {passe} pass: {wall:.2f} s wall, {cpu:.2f} s CPU "
                f"({cpu / count * 1e6:.1f} µs CPU per recipient) {dict(decisions)}"
            )


if __name__ == "__main__":
    main()
