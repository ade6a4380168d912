"""The shape of a journey with branches, and the random splits of its participants.

No Odoo import: the models call these, and they are tested with pytest and hypothesis.

A journey is a tree of paths. The main path holds the top-level steps; a *branch* step
opens two paths, ``yes`` and ``no``, each a sequence of steps (branch steps included).
When a path runs out, the participant rejoins the path of its branch step, at the step
after it; a path *ends* instead with an ``end`` or ``opt_out`` step. A node is
``Node(id, sequence, parent_id, side)``: ``parent_id`` is the branch step whose path holds
the step (None on the main path), ``side`` is ``'yes'`` or ``'no'`` (None on the main
path).

Splits (holdout, A/B variants) hash ``seed`` and the participant id, so a participant's
draw is the same every time it is asked, needs nothing stored but the seed, and the
shares of many participants follow the weights.
"""

import hashlib
from typing import NamedTuple

SIDES = ("yes", "no")


class Node(NamedTuple):
    id: int
    sequence: int
    parent_id: int | None = None
    side: str | None = None


def _order(node):
    return (node.sequence, node.id)


def path_of(nodes, parent_id=None, side=None):
    """The steps of one path, in order: the main path by default (steps whose branch
    step is gone count as on it), else the ``side`` path of the branch step
    ``parent_id``."""
    if parent_id is None:
        ids = {n.id for n in nodes}
        return sorted((n for n in nodes if n.parent_id not in ids), key=_order)
    return sorted((n for n in nodes if n.parent_id == parent_id and n.side == side), key=_order)


def first_node(nodes):
    """The step a participant enters the journey on, or None for an empty journey."""
    path = path_of(nodes)
    return path[0] if path else None


def next_node(nodes, node_id):
    """The step after ``node_id``: the next one on its path or, at the end of a branch
    path, the step after the branch step (the paths rejoin); None at the end of the
    journey."""
    by_id = {n.id: n for n in nodes}
    node = by_id[node_id]
    while True:
        parent = by_id.get(node.parent_id)
        path = path_of(nodes, parent.id, node.side) if parent else path_of(nodes)
        following = [n for n in path if _order(n) > _order(node)]
        if following:
            return following[0]
        if not parent:
            return None
        node = parent


def branch_start(nodes, branch_id, side):
    """Where a participant goes when branch step ``branch_id`` resolves to ``side``: the
    first step of that path, or (empty path) the step after the branch step."""
    if side not in SIDES:
        raise ValueError(f"unknown branch side {side!r}")
    path = path_of(nodes, branch_id, side)
    return path[0] if path else next_node(nodes, branch_id)


def compare(value, operator, threshold):
    """Whether a survey answer ``value`` satisfies ``operator`` (``'='``, ``'>='``,
    ``'<='``) against ``threshold``. ``'='`` compares texts without case or surrounding
    blanks; the others compare numbers and are False when either side is not one."""
    if value is None or threshold is None:
        return False
    if operator == "=":
        return str(value).strip().casefold() == str(threshold).strip().casefold()
    try:
        left, right = float(value), float(str(threshold).replace(",", "."))
    except (TypeError, ValueError):
        return False
    if operator == ">=":
        return left >= right
    if operator == "<=":
        return left <= right
    raise ValueError(f"unknown operator {operator!r}")


def draw(seed, participant_id, salt=""):
    """A number in [0, 1) fixed by ``seed``, ``participant_id`` and ``salt`` (the step, so
    that two A/B steps of a journey split independently)."""
    digest = hashlib.sha256(f"{seed}:{salt}:{participant_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(seed, participant_id, percent):
    """Whether the participant is in the control group of ``percent`` % (0–100)."""
    if not percent or percent <= 0:
        return False
    return draw(seed, participant_id, "holdout") < min(percent, 100) / 100


def pick_variant(seed, participant_id, weights, salt=""):
    """Index of the variant a participant gets, with probability proportional to
    ``weights`` (non-negative; all zero means equal shares)."""
    if not weights:
        raise ValueError("no variant to pick from")
    weights = [max(w or 0, 0) for w in weights]
    total = sum(weights)
    if not total:
        weights, total = [1] * len(weights), len(weights)
    point = draw(seed, participant_id, salt) * total
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if point < running:
            return index
    return len(weights) - 1
