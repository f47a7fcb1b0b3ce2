"""Judging services: invites, assignments, ratings."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging import queries
from bti_eval.judging.models import Assignment, Invite, Rating, RatingChange
from bti_eval.judging.selectors import judge_progress
from bti_eval.judging.services.assignments import assignments_build, assignments_build_for_round, public_id_avoid
from bti_eval.judging.services.invites import invite_accept, invite_revoke, judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory, ExplanationFactory, JudgeFactory, ParagraphPairFactory
from tests.judging.order_checks import adjacent_same_pair

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


def _order(judge) -> list[int]:
    return list(judge.assignments.order_by("position").values_list("explanation_id", flat=True))


def _pair_order(judge) -> list[int]:
    return list(judge.assignments.order_by("position").values_list("explanation__pair_id", flat=True))


# --- invites ---------------------------------------------------------------------------------


def test_invite_creates_a_passwordless_judge_and_stores_only_the_token_hash(rating_round):
    judge, token = judge_invite(round=rating_round, name="  Ann  ")
    assert judge.name == "Ann"
    assert not judge.user.has_usable_password()
    assert judge.user.username.startswith("judge-")
    assert isinstance(judge.seed, int)
    invite = Invite.objects.get(judge=judge)
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invite.token_hash
    assert len(token) >= 40
    assert timedelta(hours=71) < invite.expires_at - timezone.now() <= timedelta(hours=72)


def test_invite_into_a_rating_round_builds_the_assignments_at_once(rating_round):
    judge, _ = judge_invite(round=rating_round, name="Ann")
    assert judge.assignments.count() == rating_round.explanations.count() == 21


def test_invite_before_opening_waits_for_the_round(db):
    round = EvaluationRoundFactory(explained_pairs=3, status=Status.COMPUTING)
    judge, _ = judge_invite(round=round, name="Ann")
    assert judge.assignments.count() == 0
    assert assignments_build_for_round(round=round) == 21
    assert judge.assignments.count() == 21


def test_invite_into_a_closed_round_is_refused(db):
    round = EvaluationRoundFactory(explained_pairs=3, status=Status.CLOSED)
    with pytest.raises(ApplicationError) as err:
        judge_invite(round=round, name="Ann")
    assert err.value.status == 409


def test_invite_without_expiry(rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann", expires_in_hours=None)
    assert judge.invite.expires_at is None
    assert invite_accept(token=token) == judge


def test_invite_is_single_use(rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann")
    assert invite_accept(token=token) == judge
    assert Invite.objects.get(judge=judge).used_at is not None
    with pytest.raises(ApplicationError) as err:
        invite_accept(token=token)
    assert err.value.status == 410
    assert "already used" in err.value.message and "new one" in err.value.message


def test_second_use_by_the_same_signed_in_judge_continues(rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann")
    invite_accept(token=token)
    assert invite_accept(token=token, user=judge.user) == judge
    other, _ = judge_invite(round=rating_round, name="Ben")
    with pytest.raises(ApplicationError):
        invite_accept(token=token, user=other.user)


def test_expired_invite_is_refused(rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann", expires_in_hours=1)
    Invite.objects.filter(judge=judge).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as err:
        invite_accept(token=token)
    assert err.value.status == 410 and "expired" in err.value.message


def test_unknown_token_is_404(db):
    with pytest.raises(ApplicationError) as err:
        invite_accept(token="not-a-token")
    assert err.value.status == 404


def test_revoke_stops_the_link_and_the_judge(rating_round):
    judge, token = judge_invite(round=rating_round, name="Ann")
    invite_revoke(judge=judge)
    invite_revoke(judge=judge)  # twice is harmless
    judge.user.refresh_from_db()
    assert not judge.user.is_active
    with pytest.raises(ApplicationError) as err:
        invite_accept(token=token)
    assert err.value.status == 410 and "revoked" in err.value.message
    public_id = judge.assignments.first().public_id
    with pytest.raises(ApplicationError) as err:
        rating_submit(judge=judge, public_id=public_id, score=3, seconds=1)
    assert err.value.status == 404


# --- assignments -----------------------------------------------------------------------------


def test_assignments_hold_every_done_explanation_once_at_positions_0_to_n(rating_round):
    ExplanationFactory(round=rating_round, method="bti", status=Explanation.Status.FAILED, payload=None)
    judge = JudgeFactory(round=rating_round)
    assert assignments_build(judge=judge) == 21
    done = set(rating_round.explanations.filter(status=Explanation.Status.DONE).values_list("id", flat=True))
    assert set(_order(judge)) == done
    assert list(judge.assignments.order_by("position").values_list("position", flat=True)) == list(range(21))


def test_same_seed_same_order_and_different_judges_different_orders(rating_round):
    first = JudgeFactory(round=rating_round, seed=42)
    twin = JudgeFactory(round=rating_round, seed=42)
    others = [JudgeFactory(round=rating_round, seed=seed) for seed in (1, 2, 3)]
    for judge in (first, twin, *others):
        assignments_build(judge=judge)
    assert _order(first) == _order(twin)
    orders = {tuple(_order(judge)) for judge in (first, *others)}
    assert len(orders) == 4
    assert _order(first) != sorted(_order(first))


def test_no_two_explanations_of_a_pair_are_neighbours_in_many_rounds(db):
    rng = random.Random(7)
    for _ in range(12):
        round = EvaluationRoundFactory(
            explained_pairs=rng.randint(2, 5),
            methods=["m1", "m2", "m3", "m4"][: rng.randint(2, 4)],
            status=EvaluationRound.Status.RATING,
        )
        judge = JudgeFactory(round=round, seed=rng.randrange(10**9))
        assignments_build(judge=judge)
        assert adjacent_same_pair(_pair_order(judge)) == 0


def test_build_is_idempotent_and_appends_only_missing_explanations(rating_round):
    judge = JudgeFactory(round=rating_round)
    assignments_build(judge=judge)
    before = list(judge.assignments.order_by("position").values_list("explanation_id", "public_id"))
    assert assignments_build(judge=judge) == 0
    assert list(judge.assignments.order_by("position").values_list("explanation_id", "public_id")) == before

    late = [
        ExplanationFactory(round=rating_round, pair=pair, method=method)
        for pair in ParagraphPairFactory.create_batch(2)
        for method in ("bti", "tfidf-w2v")
    ]
    assert assignments_build(judge=judge) == 4
    after = list(judge.assignments.order_by("position").values_list("explanation_id", "public_id"))
    assert after[:21] == before
    assert {explanation_id for explanation_id, _ in after[21:]} == {e.id for e in late}
    assert adjacent_same_pair(_pair_order(judge)) == 0


def test_build_for_round_skips_revoked_judges(rating_round):
    round = EvaluationRoundFactory(explained_pairs=3, status=Status.COMPUTING)
    kept, _ = judge_invite(round=round, name="Ann")
    gone, _ = judge_invite(round=round, name="Ben")
    invite_revoke(judge=gone)
    assert assignments_build_for_round(round=round) == 21
    assert kept.assignments.count() == 21 and gone.assignments.count() == 0
    assert assignments_build_for_round(round=round) == 0


def test_public_ids_are_random_and_unique(judge):
    ids = list(judge.assignments.values_list("public_id", flat=True))
    assert len(set(ids)) == len(ids) and all(len(public_id) >= 20 for public_id in ids)
    assert not any(word in public_id.lower() for public_id in ids for word in public_id_avoid())


# --- ratings ---------------------------------------------------------------------------------


def _first(judge) -> Assignment:
    return judge.assignments.order_by("position").first()


def test_first_rating_is_created_with_history_and_progress(judge):
    assignment = _first(judge)
    result = rating_submit(judge=judge, public_id=assignment.public_id, score=4, seconds=12.5)
    assert result.created and not result.changed
    assert result.rating.score == 4 and result.rating.seconds == 12.5
    assert list(result.rating.history.values_list("score", flat=True)) == [4]
    assert (result.progress.rated, result.progress.total) == (1, 21)
    second = judge.assignments.get(position=1)
    assert result.next_public_id == second.public_id


def test_double_submit_is_one_rating(judge):
    assignment = _first(judge)
    rating_submit(judge=judge, public_id=assignment.public_id, score=3, seconds=5)
    again = rating_submit(judge=judge, public_id=assignment.public_id, score=3, seconds=5)
    assert not again.created and not again.changed
    assert Rating.objects.filter(assignment=assignment).count() == 1
    assert RatingChange.objects.filter(rating__assignment=assignment).count() == 1


def test_changing_a_score_keeps_the_history(judge):
    assignment = _first(judge)
    rating_submit(judge=judge, public_id=assignment.public_id, score=2, seconds=5)
    result = rating_submit(judge=judge, public_id=assignment.public_id, score=5, seconds=3)
    assert result.changed and not result.created
    rating = Rating.objects.get(assignment=assignment)
    assert rating.score == 5
    assert rating.seconds == 8  # total time spent deciding
    assert list(rating.history.values_list("score", "seconds")) == [(2, 5.0), (5, 3.0)]
    assert judge_progress(judge=judge).rated == 1


def test_a_lost_race_on_the_unique_constraint_rereads_the_rating(judge, monkeypatch):
    assignment = _first(judge)
    Rating.objects.create(assignment=assignment, score=2)
    # The other request commits its rating between our read (nothing yet) and our insert.
    read = queries.rating_target_row
    monkeypatch.setattr(queries, "rating_target_row", lambda **kwargs: (*read(**kwargs)[:3], None, None))
    result = rating_submit(judge=judge, public_id=assignment.public_id, score=4, seconds=1)
    assert not result.created and result.changed
    assert Rating.objects.filter(assignment=assignment).count() == 1
    assert Rating.objects.get(assignment=assignment).score == 4


@pytest.mark.parametrize("score", [0, 6, -1, "abc", "3", None, 2.5, 3.0, True])
def test_invalid_scores_are_rejected(judge, score):
    with pytest.raises(ApplicationError) as err:
        rating_submit(judge=judge, public_id=_first(judge).public_id, score=score, seconds=1)
    assert err.value.status == 400 and "1 to 5" in err.value.message
    assert not Rating.objects.exists()


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), "ten"])
def test_invalid_seconds_are_rejected(judge, seconds):
    with pytest.raises(ApplicationError) as err:
        rating_submit(judge=judge, public_id=_first(judge).public_id, score=3, seconds=seconds)
    assert err.value.status == 400


def test_long_seconds_are_clipped_and_none_is_kept(judge):
    first, second = judge.assignments.order_by("position")[:2]
    assert rating_submit(judge=judge, public_id=first.public_id, score=3, seconds=10**6).rating.seconds == 3600
    assert rating_submit(judge=judge, public_id=second.public_id, score=3, seconds=None).rating.seconds is None


def test_another_judges_assignment_is_404(judge, other_judge):
    theirs = _first(other_judge)
    with pytest.raises(ApplicationError) as err:
        rating_submit(judge=judge, public_id=theirs.public_id, score=3, seconds=1)
    assert err.value.status == 404
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("status", "words"), [(Status.CLOSED, "closed; ratings are frozen"), (Status.COMPUTING, "not open")]
)
def test_rating_outside_the_rating_phase_is_409(judge, status, words):
    assignment = _first(judge)
    rating_submit(judge=judge, public_id=assignment.public_id, score=3, seconds=1)
    EvaluationRound.objects.filter(pk=judge.round_id).update(status=status)
    with pytest.raises(ApplicationError) as err:
        rating_submit(judge=judge, public_id=assignment.public_id, score=5, seconds=1)
    assert err.value.status == 409 and words in err.value.message
    assert Rating.objects.get(assignment=assignment).score == 3


def test_next_unrated_wraps_round_and_ends_with_none(judge):
    assignments = list(judge.assignments.order_by("position"))
    for assignment in assignments[1:]:
        rating_submit(judge=judge, public_id=assignment.public_id, score=3, seconds=1)
    result = rating_submit(judge=judge, public_id=assignments[5].public_id, score=4, seconds=1)
    assert result.next_public_id == assignments[0].public_id  # the only unrated one, before us
    last = rating_submit(judge=judge, public_id=assignments[0].public_id, score=4, seconds=1)
    assert last.next_public_id is None and (last.progress.rated, last.progress.total) == (21, 21)
