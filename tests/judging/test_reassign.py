"""A judge revoked while a k-per-item round is open: their unrated explanations go to other active
judges, so that every explanation keeps k of them (designs.reassign, assignments_reassign)."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from django.urls import reverse

from bti_eval.judging.designs import reassign
from bti_eval.judging.models import Assignment, Judge
from bti_eval.judging.services.invites import invite_revoke, judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory
from tests.researcher_fixtures import *  # noqa: F403  (the researcher fixtures)

Status = EvaluationRound.Status


def test_reassign_fills_what_each_item_lacks_least_loaded_first_never_to_a_holder():
    needed = {"a": 1, "b": 2, "c": 1}
    holders = {"a": {"j1"}, "b": set(), "c": {"j1", "j2"}}
    loads = {"j1": 5, "j2": 3, "j3": 3}
    plan = reassign(needed, holders, loads, seed=0)
    given = Counter(item for items in plan.values() for item in items)
    assert given == needed
    for judge, items in plan.items():
        assert not any(judge in holders[item] for item in items)
    assert "j1" not in plan  # the most loaded judge gets nothing while lighter ones can take all
    assert plan == reassign(needed, holders, loads, seed=0)  # deterministic
    # Two items of one group go to two judges while two can take them, even at a higher load.
    split = reassign({"p1-a": 1, "p1-b": 1}, {}, {"j1": 0, "j2": 3}, seed=0, groups={"p1-a": 1, "p1-b": 1})
    assert split == {"j1": ["p1-a"], "j2": ["p1-b"]}
    assert reassign({"p1-a": 1, "p1-b": 1}, {}, {"j1": 0, "j2": 3}, seed=0) == {"j1": ["p1-a", "p1-b"]}
    # Too few judges lack an item: it gets what there is.
    assert reassign({"x": 3}, {"x": {"j1"}}, {"j1": 0, "j2": 0}, seed=1) == {"j2": ["x"]}


def test_reassign_balances_loads():
    needed = {item: 1 for item in range(30)}
    plan = reassign(needed, {}, {"a": 0, "b": 4, "c": 2}, seed=3)
    final = {"a": len(plan.get("a", [])), "b": 4 + len(plan.get("b", [])), "c": 2 + len(plan.get("c", []))}
    assert max(final.values()) - min(final.values()) <= 1 and sum(final.values()) == 36


def _k_round(pairs: int = 6, judges: int = 4, k: int = 2) -> tuple[EvaluationRound, list[Judge]]:
    round = EvaluationRoundFactory(
        explained_pairs=pairs, methods=["bti", "bti-gradients", "tfidf-w2v"], status=Status.COMPUTING
    )
    round_services.round_options_update(round=round, design="k-per-item", judges_per_explanation=k)
    people = [judge_invite(round=round, name=f"J{i}")[0] for i in range(judges)]
    round_services.round_open(round=round)
    return round, people


def _active_holders(round: EvaluationRound) -> Counter:
    return Counter(
        Assignment.objects.filter(judge__round=round, judge__user__is_active=True).values_list(
            "explanation_id", flat=True
        )
    )


@pytest.mark.django_db
def test_revoking_in_an_open_k_per_item_round_keeps_k_active_judges_per_unrated_explanation():
    round, (gone, *others) = _k_round()
    assigned = list(gone.assignments.order_by("position"))
    rated = assigned[:2]
    for assignment in rated:
        rating_submit(judge=gone, public_id=assignment.public_id, score=4, seconds=3)
    before = {
        judge.pk: list(judge.assignments.order_by("position").values_list("public_id", flat=True)) for judge in others
    }

    revoked = invite_revoke(judge=gone)
    assert revoked.reassigned == len(assigned) - len(rated)

    holders = _active_holders(round)
    for assignment in assigned[2:]:
        assert holders[assignment.explanation_id] == 2  # k active judges again
    for assignment in rated:  # rated before the revocation: the rating counts, nothing moves
        assert holders[assignment.explanation_id] == 1
    assert gone.assignments.count() == len(assigned) and gone.ratings.count() == 2  # kept as they were
    loads = [judge.assignments.count() for judge in others]
    assert max(loads) - min(loads) <= 1
    for judge in others:
        now = list(judge.assignments.order_by("position").values_list("public_id", "position"))
        assert [public_id for public_id, _ in now[: len(before[judge.pk])]] == before[judge.pk]  # appended
        assert [position for _, position in now] == list(range(len(now)))

    assert invite_revoke(judge=gone).reassigned == 0  # twice: nothing more


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["all-design", "closed", "everyone-holds-it"])
def test_nothing_moves_when_there_is_nothing_to_restore(case):
    if case == "all-design":
        round = EvaluationRoundFactory(explained_pairs=2, methods=["bti"], status=Status.COMPUTING)
        gone, other = (judge_invite(round=round, name=n)[0] for n in ("A", "B"))
        round_services.round_open(round=round)
    else:
        round, (gone, *_) = _k_round(pairs=2, judges=3 if case == "closed" else 2, k=2)
        if case == "closed":
            round_services.round_close(round=round)
    before = Assignment.objects.count()
    assert invite_revoke(judge=gone).reassigned == 0
    assert Assignment.objects.count() == before


@pytest.mark.django_db
def test_the_api_and_the_judges_page_say_how_many_items_moved(researcher_client):
    round, (gone, second, *_) = _k_round(pairs=3, judges=4)
    n = gone.assignments.count()
    body = researcher_client.post(reverse("api-judge-revoke", kwargs={"judge_id": gone.pk})).json()
    assert body == {"id": gone.pk, "revoked": True, "reassigned": n}
    page = researcher_client.post(
        reverse("judging:judge-revoke", kwargs={"round_id": round.pk, "judge_id": second.pk}), follow=True
    )
    assert page.status_code == 200
    assert "of their unrated items went to other judges" in page.content.decode()


def _best_spread(items, holders, groups, loads) -> int | None:
    """The smallest max - min load over every way to give each item to one judge who does not
    hold it, with no judge given two items of one group (None when there is no such way)."""
    best = None
    for choice in itertools.product(sorted(loads), repeat=len(items)):
        if any(judge in holders[item] for item, judge in zip(items, choice, strict=True)):
            continue
        if len({(judge, groups[item]) for item, judge in zip(items, choice, strict=True)}) < len(items):
            continue
        final = Counter(loads) + Counter(choice)
        spread = max(final[j] for j in loads) - min(final[j] for j in loads)
        best = spread if best is None else min(best, spread)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_reassign_evens_loads_as_far_as_the_holders_allow(seed):
    # The situation of a revoked judge in a k = 2 round: each item lacks one judge and is held by
    # one of the three others; items of one pair form a group. The group rule alone can leave
    # judges two items apart where the holders allow better; the chains of moves close that gap
    # without breaking a rule.
    rng = random.Random(seed)
    items = [f"p{p}-m{m}" for p in range(4) for m in range(2)][: rng.randint(5, 8)]
    holders = {item: {rng.choice("abc")} for item in items}
    groups = {item: item.split("-")[0] for item in items}
    loads = {"a": 9, "b": 9, "c": 9}
    plan = reassign({item: 1 for item in items}, holders, loads, seed=seed, groups=groups)
    assert sorted(item for given in plan.values() for item in given) == sorted(items)
    for judge, given in plan.items():
        assert not any(judge in holders[item] for item in given)
    best = _best_spread(items, holders, groups, loads)
    if best is not None:  # a plan that keeps the group rule exists: reassign keeps it, and is as even
        assert all(len({groups[item] for item in given}) == len(given) for given in plan.values())
        final = {judge: loads[judge] + len(plan.get(judge, [])) for judge in loads}
        assert max(final.values()) - min(final.values()) == best
