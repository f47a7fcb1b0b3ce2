"""Assignment designs: k-per-item balance, determinism, late judges, and the spread rule in both designs."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bti_eval.judging.designs import allocate_k_per_item, arrival_share, fair_share, top_up
from bti_eval.judging.models import Assignment
from bti_eval.judging.services.assignments import assignments_build
from bti_eval.judging.services.invites import judge_invite
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory
from tests.judging.order_checks import adjacent_same_pair

Status = EvaluationRound.Status


@pytest.mark.parametrize(("n", "judges", "k"), [(35, 5, 2), (100, 7, 3), (10, 3, 3), (9, 4, 1), (6, 2, 5)])
def test_k_per_item_gives_k_distinct_judges_and_balanced_loads(n, judges, k):
    allocation = allocate_k_per_item(list(range(n)), [f"j{i}" for i in range(judges)], k, seed=11)
    per_item = Counter(item for items in allocation.values() for item in items)
    assert set(per_item) == set(range(n)) and set(per_item.values()) == {min(k, judges)}
    loads = [len(items) for items in allocation.values()]
    total = n * min(k, judges)
    assert set(loads) <= {total // judges, math.ceil(total / judges)} and sum(loads) == total
    for items in allocation.values():
        assert len(items) == len(set(items))


def test_k_per_item_is_deterministic_and_seeded():
    items, judges = list(range(50)), [1, 2, 3, 4, 5]
    assert allocate_k_per_item(items, judges, 2, seed=3) == allocate_k_per_item(items, judges, 2, seed=3)
    assert allocate_k_per_item(items, judges, 2, seed=3) != allocate_k_per_item(items, judges, 2, seed=4)
    with pytest.raises(ValueError):
        allocate_k_per_item(items, judges, 0, seed=0)


def test_top_up_takes_the_least_covered():
    coverage = {"a": 2, "b": 0, "c": 1, "d": 0, "e": 2}
    assert set(top_up(coverage, 2, seed=1)) == {"b", "d"}
    assert set(top_up(coverage, 3, seed=1)) == {"b", "d", "c"}
    assert fair_share(21, 2, 5) == 9 and fair_share(4, 3, 1) == 4 and fair_share(4, 1, 0) == 0


def _pairs_in_order(judge) -> list[int]:
    return list(judge.assignments.order_by("position").values_list("explanation__pair_id", flat=True))


def _open_with_judges(round: EvaluationRound, n_judges: int) -> list:
    judges = [judge_invite(round=round, name=f"J{i}")[0] for i in range(n_judges)]
    round_services.round_open(round=round)
    return judges


@pytest.mark.django_db
def test_k_per_item_round_opens_with_balanced_assignments_that_keep_the_spread_rule():
    round = EvaluationRoundFactory(
        explained_pairs=5, methods=["bti", "bti-gradients", "tfidf-w2v"], status=Status.COMPUTING
    )
    round_services.round_options_update(round=round, design="k-per-item", judges_per_explanation=2)
    judges = _open_with_judges(round, 4)
    n = round.explanations.count()  # 15
    per_explanation = Counter(Assignment.objects.filter(judge__round=round).values_list("explanation_id", flat=True))
    assert len(per_explanation) == n and set(per_explanation.values()) == {2}
    loads = sorted(judge.assignments.count() for judge in judges)
    assert set(loads) <= {n * 2 // 4, math.ceil(n * 2 / 4)} and sum(loads) == 2 * n
    for judge in judges:
        assert adjacent_same_pair(_pairs_in_order(judge)) == 0
        assert list(judge.assignments.order_by("position").values_list("position", flat=True)) == list(
            range(judge.assignments.count())
        )


@pytest.mark.django_db
def test_k_per_item_allocation_is_the_round_seeds():
    round = EvaluationRoundFactory(explained_pairs=6, methods=["bti", "tfidf-w2v"], status=Status.COMPUTING)
    round.seed = 1234
    round.save()
    round_services.round_options_update(round=round, design="k-per-item", judges_per_explanation=2)
    judges = _open_with_judges(round, 3)
    ids = list(round.explanations.order_by("id").values_list("id", flat=True))
    want = allocate_k_per_item(ids, [j.pk for j in judges], 2, seed=1234)
    for judge in judges:
        assert sorted(judge.assignments.values_list("explanation_id", flat=True)) == want[judge.pk]


@pytest.mark.django_db
def test_a_late_judge_in_a_k_per_item_round_tops_up_the_least_covered():
    round = EvaluationRoundFactory(explained_pairs=4, methods=["bti", "tfidf-w2v"], status=Status.COMPUTING)
    round_services.round_options_update(round=round, design="k-per-item", judges_per_explanation=1)
    _open_with_judges(round, 2)  # 8 explanations, each judge 4
    late, _ = judge_invite(round=round, name="Late")
    assert late.assignments.count() == fair_share(8, 1, 3) == 3
    coverage = Counter(Assignment.objects.filter(judge__round=round).values_list("explanation_id", flat=True))
    assert max(coverage.values()) == 2 and sum(coverage.values()) == 11
    assert adjacent_same_pair(_pairs_in_order(late)) == 0
    assert assignments_build(judge=late) == 0  # idempotent: no second top-up


@pytest.mark.django_db
@pytest.mark.parametrize("design", ["all", "k-per-item"])
def test_spread_rule_holds_in_generated_orders_with_controls(design):
    round = EvaluationRoundFactory(explained_pairs=6, status=Status.COMPUTING)  # the paper's 7 methods: 42 explanations
    options = {"design": design, "control_items": 3}
    if design == "k-per-item":
        options["judges_per_explanation"] = 3
    round_services.round_options_update(round=round, **options)
    judges = _open_with_judges(round, 5)
    judges.append(judge_invite(round=round, name="late")[0])
    controls = set(round.explanations.filter(is_control=True).values_list("id", flat=True))
    assert len(controls) == 3
    for judge in judges:
        order = _pairs_in_order(judge)
        assert adjacent_same_pair(order) == 0, order
        assert controls <= set(judge.assignments.values_list("explanation_id", flat=True))


# --- arrival_share: crowd participants one at a time -------------------------------------------


def test_arrivals_one_at_a_time_keep_every_item_within_one_and_reach_k():
    """n=21 explanations (7 pairs × 3), k=3, m=5 per participant: after ⌈21·3/5⌉ = 13 arrivals every
    explanation has 3 or 4 judges, held counts never differ by more than one on the way, and no
    participant gets an explanation twice."""
    items = [f"p{p}-m{m}" for p in range(7) for m in range(3)]
    groups = {item: item.split("-")[0] for item in items}
    held = dict.fromkeys(items, 0)
    for arrival in range(13):
        share = arrival_share(held, 5, seed=arrival, groups=groups)
        assert len(share) == len(set(share)) == 5
        for item in share:
            held[item] += 1
        assert max(held.values()) - min(held.values()) <= 1, arrival
    assert min(held.values()) >= 3 and sum(held.values()) == 65


def test_arrival_share_prefers_new_pairs_among_equally_held_items():
    items = [f"p{p}-m{m}" for p in range(5) for m in range(4)]
    groups = {item: item.split("-")[0] for item in items}
    for seed in range(20):
        share = arrival_share(dict.fromkeys(items, 0), 5, seed=seed, groups=groups)
        assert len({groups[item] for item in share}) == 5, share
    # Fewer pairs than items wanted: every pair once, then second items.
    share = arrival_share(dict.fromkeys(items, 0), 7, seed=1, groups=groups)
    assert len({groups[item] for item in share}) == 5 and len(share) == 7


def test_arrival_share_takes_the_least_held_first_even_from_one_pair():
    held = {"a1": 2, "a2": 0, "a3": 0, "b1": 1}
    groups = {"a1": "a", "a2": "a", "a3": "a", "b1": "b"}
    assert sorted(arrival_share(held, 2, seed=0, groups=groups)) == ["a2", "a3"]  # least held beats new pair
    assert set(arrival_share(held, 3, seed=0, groups=groups)) == {"a2", "a3", "b1"}
    assert arrival_share(held, 10, seed=0, groups=groups)[-1] == "a1"  # all of them, most held last
    assert arrival_share(held, 0, seed=0) == [] and arrival_share({}, 3, seed=0) == []
    assert arrival_share(held, 3, seed=5, groups=groups) == arrival_share(held, 3, seed=5, groups=groups)
