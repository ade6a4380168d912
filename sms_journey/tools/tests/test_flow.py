"""Tests for sms_journey.tools.flow: paths, rejoining, splits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_journey.tools.flow import (
    Node,
    branch_start,
    compare,
    first_node,
    in_holdout,
    next_node,
    path_of,
    pick_variant,
)

# main: 1 → 2 (branch) → 5 ; yes: 3 → 4 ; no: (empty)
TREE = [
    Node(1, 10),
    Node(2, 20),
    Node(3, 10, 2, "yes"),
    Node(4, 20, 2, "yes"),
    Node(5, 30),
]


def test_paths_and_rejoin():
    assert first_node(TREE).id == 1
    assert next_node(TREE, 1).id == 2
    assert branch_start(TREE, 2, "yes").id == 3
    assert next_node(TREE, 3).id == 4
    assert next_node(TREE, 4).id == 5  # the yes path rejoins after the branch
    assert branch_start(TREE, 2, "no").id == 5  # an empty path goes straight on
    assert next_node(TREE, 5) is None
    assert first_node([]) is None


def test_orphans_count_on_the_main_path():
    nodes = [Node(1, 10), Node(3, 5, 99, "yes")]
    assert [n.id for n in path_of(nodes)] == [3, 1]


def test_nested_branch_rejoins_two_levels():
    nodes = TREE + [Node(6, 30, 2, "yes"), Node(7, 10, 6, "no")]
    assert branch_start(nodes, 6, "no").id == 7
    assert next_node(nodes, 7).id == 5


def test_unknown_side():
    with pytest.raises(ValueError):
        branch_start(TREE, 2, "maybe")


@st.composite
def trees(draw):
    """Random journeys: each new step goes on the main path or on a path of an earlier
    step (any step may be a branch)."""
    count = draw(st.integers(1, 25))
    nodes = []
    for node_id in range(1, count + 1):
        parent = draw(st.sampled_from([None] + [n.id for n in nodes]))
        side = draw(st.sampled_from(["yes", "no"])) if parent else None
        nodes.append(Node(node_id, draw(st.integers(0, 5)), parent, side))
    return nodes


@given(trees(), st.lists(st.sampled_from(["yes", "no"]), max_size=30))
def test_every_walk_ends_without_repeating_a_step(nodes, choices):
    """Whatever the branches decide, a participant visits a step at most once and
    reaches the end of the journey."""
    children = {n.parent_id for n in nodes}
    seen, node, choices = set(), first_node(nodes), list(choices)
    while node is not None:
        assert node.id not in seen
        seen.add(node.id)
        if node.id in children:
            side = choices.pop() if choices else "no"
            node = branch_start(nodes, node.id, side)
        else:
            node = next_node(nodes, node.id)


@given(trees())
def test_main_path_walk_visits_main_steps_in_order(nodes):
    main = path_of(nodes)
    walked, node = [], first_node(nodes)
    while node is not None:
        walked.append(node)
        node = next_node(nodes, node.id)
    # without branching, next_node skips the branch paths
    assert [n.id for n in walked if n.parent_id is None] == [n.id for n in main]


def test_compare():
    assert compare("Yes ", "=", "yes")
    assert compare("8", ">=", "7.5")
    assert not compare("8", "<=", "7,5")
    assert not compare("abc", ">=", "1")
    assert not compare(None, "=", "x")


def test_holdout_share_within_tolerance():
    """10 % holdout on 10,000 participants: within ±1 point (≈ 3.3 standard errors)."""
    held = sum(in_holdout("seed-1", pid, 10) for pid in range(1, 10_001))
    assert 900 <= held <= 1100
    assert not any(in_holdout("seed-1", pid, 0) for pid in range(1, 200))


def test_variant_proportions_within_tolerance():
    """Weights 50/30/20 on 10,000 draws: each share within ±1.5 points (≥ 3.3 SE)."""
    counts = [0, 0, 0]
    for pid in range(1, 10_001):
        counts[pick_variant("s", pid, [50, 30, 20], salt=7)] += 1
    for count, expected in zip(counts, (5000, 3000, 2000), strict=True):
        assert abs(count - expected) <= 150


@settings(max_examples=50)
@given(
    st.text(max_size=8),
    st.integers(1, 10**9),
    st.lists(st.integers(0, 100), min_size=2, max_size=4),
)
def test_variant_draw_is_stable_and_never_a_zero_weight(seed, pid, weights):
    index = pick_variant(seed, pid, weights)
    assert index == pick_variant(seed, pid, weights)
    assert 0 <= index < len(weights)
    if any(weights):
        assert weights[index] > 0
