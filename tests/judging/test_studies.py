"""Crowd study links (services.studies): creating links, arrivals (new, resumed, refused), balance in
k-per-item rounds, quotas, completion codes, the screen-out and the time limit."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Assignment, Judge, Participation, StudyLink
from bti_eval.judging.services.invites import invite_revoke, judge_invite
from bti_eval.judging.services.ratings import rating_submit
from bti_eval.judging.services.studies import (
    explanations_held,
    participant_arrive,
    participant_finish,
    study_link_close,
    study_link_create,
)
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory, UserFactory
from tests.judging.conftest import add_controls

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status
Outcome = Participation.Outcome


def pid(n: int) -> str:
    """The n-th Prolific-style id (24 hex digits)."""
    return f"{n:024x}"


def prolific(n: int, session: int | None = None) -> dict[str, list[str]]:
    return {"PROLIFIC_PID": [pid(n)], "STUDY_ID": [pid(999)], "SESSION_ID": [pid(10_000 + (session or n))]}


def arrive(link: StudyLink, n: int, session: int | None = None, user=None):
    return participant_arrive(token=link.token, params=prolific(n, session), user=user)


def refusal(link: StudyLink, n: int, session: int | None = None) -> ApplicationError:
    """The error participant ``n``'s arrival by ``link`` raises (the test fails if they get in)."""
    with pytest.raises(ApplicationError) as refused:
        arrive(link, n, session)
    return refused.value


def rate_all(judge: Judge, score=4, control_score=None) -> None:
    for assignment in judge.assignments.select_related("explanation"):
        given = control_score if assignment.explanation.is_control and control_score is not None else score
        rating_submit(judge=Judge.objects.get(pk=judge.pk), public_id=assignment.public_id, score=given, seconds=5)


@pytest.fixture
def k_round():
    """7 pairs × 3 methods = 21 explanations, k = 3, open for rating."""
    return EvaluationRoundFactory(
        explained_pairs=7,
        methods=["bti", "tfidf-w2v", "vanilla-gradients"],
        design=EvaluationRound.Design.K_PER_ITEM,
        judges_per_explanation=3,
        status=Status.RATING,
    )


# --- links -----------------------------------------------------------------------------------


def test_a_link_gets_a_random_hex_token_and_a_random_completion_code(rating_round):
    first = study_link_create(round=rating_round, platform="prolific")
    second = study_link_create(round=rating_round, platform="prolific", completion_code=" C1A2B3 ")
    assert len(first.token) == 32 and int(first.token, 16) >= 0 and first.token != second.token
    assert len(first.completion_code) == 8 and first.completion_code.isalnum()
    assert second.completion_code == "C1A2B3"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"platform": "myspace"}, "Choose the platform"),
        ({"platform": "prolific", "completion_code": "has space"}, "completion code"),
        ({"platform": "prolific", "quota": 0}, "quota"),
        ({"platform": "prolific", "quota": True}, "quota"),
        ({"platform": "prolific", "time_limit_minutes": 7 * 24 * 60 + 1}, "time limit"),
        ({"platform": "prolific", "items_per_participant": 5}, "k-per-item rounds"),
        ({"platform": "prolific", "screen_out_failed_controls": True}, "screen-out code"),
        ({"platform": "prolific", "screen_out_code": "SO1"}, "screen-out on"),
        ({"platform": "prolific", "label": "a\x00b"}, "NUL"),
        ({"platform": "prolific", "participant_param": "pid"}, "names its own parameters"),
        ({"platform": "generic"}, "participant parameter"),
        ({"platform": "generic", "participant_param": "pid", "session_param": "pid"}, "must differ"),
    ],
)
def test_bad_link_options_are_refused_with_a_clear_message(rating_round, options, says):
    with pytest.raises(ApplicationError) as refused:
        study_link_create(round=rating_round, **options)
    assert refused.value.status == 400 and says in refused.value.message
    assert not StudyLink.objects.exists()


def test_the_screen_out_needs_control_items_that_can_be_passed(rating_round):
    options = {"platform": "prolific", "screen_out_failed_controls": True, "screen_out_code": "SCREEN1"}
    with pytest.raises(ApplicationError, match="can never pass"):
        study_link_create(round=rating_round, **options)  # no control items
    add_controls(rating_round, 3)
    link = study_link_create(round=rating_round, **options)
    assert link.screen_out_failed_controls and link.screen_out_code == "SCREEN1"
    with pytest.raises(ApplicationError, match="differ"):
        study_link_create(round=rating_round, **{**options, "completion_code": "SCREEN1"})


def test_a_closed_round_takes_no_new_link_and_closing_a_link_twice_is_harmless(rating_round):
    link = study_link_create(round=rating_round, platform="mturk")
    closed = study_link_close(link=link)
    assert closed.closed_at is not None
    assert study_link_close(link=link).closed_at == closed.closed_at
    EvaluationRound.objects.filter(pk=rating_round.pk).update(status=Status.CLOSED)
    with pytest.raises(ApplicationError) as refused:
        study_link_create(round=rating_round, platform="prolific")
    assert refused.value.status == 409


# --- arrival ---------------------------------------------------------------------------------


def test_the_first_visit_makes_a_judge_with_every_item_and_the_session_recorded(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", time_limit_minutes=30)
    arrival = arrive(link, 1)
    judge = arrival.judge
    assert arrival.created and not arrival.preview
    assert (judge.round_id, judge.platform, judge.participant_id) == (rating_round.pk, "prolific", pid(1))
    assert judge.name == "" and not judge.user.has_usable_password()
    assert judge.assignments.count() == rating_round.explanations.count()
    participation = judge.participation
    assert (participation.study_link, participation.study_session, participation.study_ref) == (
        link,
        pid(10_001),
        pid(999),
    )
    assert timedelta(minutes=29) < judge.deadline_at - judge.created_at <= timedelta(minutes=30, seconds=1)


def test_a_later_visit_resumes_only_with_the_same_session_or_in_the_same_browser(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    judge = arrive(link, 1).judge
    again = arrive(link, 1)  # same id, same session, another browser
    assert again.judge.pk == judge.pk and not again.created
    refused = refusal(link, 1, session=77)  # same id, another session, another browser: someone who knows the id
    assert refused.status == 409 and refused.extra["reason"] == "other-session"
    signed_in = arrive(link, 1, session=78, user=judge.user)  # the same browser: a new attempt
    assert signed_in.judge.pk == judge.pk
    assert Participation.objects.get(pk=judge.pk).study_session == pid(10_078)
    assert Judge.objects.filter(round=rating_round).count() == 1


def test_another_judges_browser_does_not_resume_someone_else(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    first = arrive(link, 1).judge
    second = arrive(link, 2, user=first.user)  # a shared computer: the second participant is their own judge
    assert second.created and second.judge.pk != first.pk
    with pytest.raises(ApplicationError):
        arrive(link, 1, session=5, user=second.judge.user)


def test_a_generic_link_without_a_session_parameter_resumes_in_the_same_browser_only(rating_round):
    link = study_link_create(round=rating_round, platform="generic", participant_param="pid")
    judge = participant_arrive(token=link.token, params={"pid": ["P-1"]}).judge
    with pytest.raises(ApplicationError, match="already started"):
        participant_arrive(token=link.token, params={"pid": ["P-1"]})
    assert participant_arrive(token=link.token, params={"pid": ["P-1"]}, user=judge.user).judge.pk == judge.pk


def test_the_same_participant_through_two_links_of_a_round_is_one_judge(rating_round):
    first = study_link_create(round=rating_round, platform="prolific")
    second = study_link_create(round=rating_round, platform="prolific")
    assert arrive(first, 1).judge.pk == arrive(second, 1).judge.pk
    other = study_link_create(round=rating_round, platform="generic", participant_param="PROLIFIC_PID")
    generic = participant_arrive(token=other.token, params={"PROLIFIC_PID": [pid(1)]})
    assert generic.created  # another platform: another person as far as the round can tell


def test_the_constraint_refuses_a_second_judge_for_one_participant(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    judge = arrive(link, 1).judge
    with pytest.raises(IntegrityError), transaction.atomic():
        Judge.objects.create(
            round=rating_round, user=UserFactory(), seed=1, platform="prolific", participant_id=judge.participant_id
        )
    # Invited judges have no participant id: any number of them.
    judge_invite(round=rating_round, name="A")
    judge_invite(round=rating_round, name="B")


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [(Status.DRAFT, "not-open", 409), (Status.COMPUTING, "not-open", 409), (Status.CLOSED, "closed", 410)],
)
def test_a_round_not_open_or_closed_turns_new_participants_away_and_creates_nothing(rating_round, status, reason, code):
    link = study_link_create(round=rating_round, platform="prolific")
    EvaluationRound.objects.filter(pk=rating_round.pk).update(status=status)
    refused = refusal(link, 1)
    assert (refused.status, refused.extra["reason"]) == (code, reason)
    assert not Judge.objects.exists()


def test_a_closed_link_turns_new_participants_away_but_lets_arrived_ones_go_on(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    judge = arrive(link, 1).judge
    study_link_close(link=link)
    refused = refusal(link, 2)
    assert refused.status == 410
    assert arrive(link, 1).judge.pk == judge.pk


def test_the_quota_caps_participants_and_returning_ones_still_get_in(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", quota=2)
    arrive(link, 1)
    arrive(link, 2)
    refused = refusal(link, 3)
    assert (refused.status, refused.extra["reason"]) == (409, "full")
    assert arrive(link, 2).judge.participant_id == pid(2)
    assert Judge.objects.filter(round=rating_round).count() == 2


def test_unknown_token_and_bad_ids_create_nothing(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    with pytest.raises(ApplicationError) as refused:
        participant_arrive(token="0" * 32, params=prolific(1))
    assert refused.value.status == 404
    with pytest.raises(ApplicationError) as refused:
        participant_arrive(token=link.token, params={"PROLIFIC_PID": ["nope"], "STUDY_ID": ["x"], "SESSION_ID": ["y"]})
    assert refused.value.status == 400
    assert not Judge.objects.exists()


def test_a_revoked_participant_is_told_so(rating_round):
    link = study_link_create(round=rating_round, platform="prolific")
    judge = arrive(link, 1).judge
    invite_revoke(judge=judge)
    refused = refusal(link, 1)
    assert refused.status == 403


def test_mturk_preview_creates_nothing(rating_round):
    link = study_link_create(round=rating_round, platform="mturk")
    params = {
        "assignmentId": ["ASSIGNMENT_ID_NOT_AVAILABLE"],
        "hitId": ["H1"],
        "turkSubmitTo": ["https://www.mturk.com"],
    }
    arrival = participant_arrive(token=link.token, params=params)
    assert arrival.preview and arrival.judge is None
    assert not Judge.objects.exists()


# --- k-per-item balance ----------------------------------------------------------------------


def test_arrivals_share_a_k_per_item_round_so_that_every_explanation_reaches_k(k_round):
    """21 explanations, k = 3, 5 per participant: after ⌈63/5⌉ = 13 arrivals each has 3 or 4 judges."""
    link = study_link_create(round=k_round, platform="prolific", items_per_participant=5)
    judges = [arrive(link, n).judge for n in range(13)]
    held = Counter(Assignment.objects.filter(judge__round=k_round).values_list("explanation_id", flat=True))
    assert len(held) == 21 and set(held.values()) <= {3, 4} and sum(held.values()) == 65
    spread = [len(set(judge.assignments.values_list("explanation__pair_id", flat=True))) for judge in judges]
    # Least held comes first; among equally held explanations, new pairs do (a tier of the last few
    # explanations may hold two of one pair).
    assert all(judge.assignments.count() == 5 for judge in judges)
    assert min(spread) >= 2 and sum(spread) / len(spread) >= 4.5, spread  # 3,000 simulated runs: >= 4.69
    assert math.ceil(21 * 3 / 5) == 13


def test_screened_out_and_timed_out_participants_hold_only_what_counts(k_round):
    link = study_link_create(round=k_round, platform="prolific", items_per_participant=5, time_limit_minutes=10)
    first, second, third = (arrive(link, n).judge for n in range(3))
    held = explanations_held(round_id=k_round.pk)
    assert set(held.values()) == {1} and len(held) == 15  # 3 × 5 of the 21, none twice
    # The first finished but was screened out: holds nothing. The second ran out of time after one rating.
    Participation.objects.filter(pk=first.pk).update(outcome=Outcome.SCREENED_OUT)
    Judge.objects.filter(pk=first.pk).update(finished_at=timezone.now())
    one = second.assignments.first()
    rating_submit(judge=second, public_id=one.public_id, score=3, seconds=2)
    Judge.objects.filter(pk=second.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    held = explanations_held(round_id=k_round.pk)
    mine = {
        judge.pk: set(judge.assignments.values_list("explanation_id", flat=True)) for judge in (first, second, third)
    }
    expected = Counter(mine[third.pk]) + Counter([one.explanation_id])
    assert {e: n for e, n in held.items() if n} == dict(expected)
    # An invited judge holds theirs as before.
    judge_invite(round=k_round, name="invited")
    assert sum(explanations_held(round_id=k_round.pk).values()) > sum(expected.values())


def test_an_all_round_gives_every_participant_everything_and_the_controls(rating_round):
    add_controls(rating_round, 2)
    link = study_link_create(round=rating_round, platform="prolific")
    judge = arrive(link, 1).judge
    assert judge.assignments.count() == rating_round.explanations.count()
    assert judge.assignments.filter(explanation__is_control=True).count() == 2


# --- completion ------------------------------------------------------------------------------


def test_finishing_gives_the_completion_code_once_and_freezes_the_ratings(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", completion_code="DONE42")
    judge = arrive(link, 1).judge
    assert participant_finish(judge=judge).outcome == ""  # still rating
    rate_all(judge)
    participation = participant_finish(judge=judge)
    assert (participation.outcome, participation.code) == (Outcome.COMPLETED, "DONE42")
    judge.refresh_from_db()
    assert judge.finished_at is not None
    assert participant_finish(judge=judge).code == "DONE42"
    with pytest.raises(ApplicationError) as refused:
        rating_submit(judge=judge, public_id=judge.assignments.first().public_id, score=1, seconds=1)
    assert refused.value.status == 409 and "finished" in refused.value.message


@pytest.mark.parametrize(
    ("real", "control", "outcome", "code"), [(5, 1, "completed", "OK1"), (3, 3, "screened-out", "SO1")]
)
def test_the_screen_out_turns_away_participants_who_do_not_rate_controls_lower(
    controlled_round, real, control, outcome, code
):
    link = study_link_create(
        round=controlled_round,
        platform="prolific",
        completion_code="OK1",
        screen_out_failed_controls=True,
        screen_out_code="SO1",
    )
    judge = arrive(link, 1).judge
    rate_all(judge, score=real, control_score=control)
    participation = participant_finish(judge=judge)
    assert (participation.outcome, participation.code) == (outcome, code)


def test_without_the_screen_out_everyone_who_finishes_completes(controlled_round):
    link = study_link_create(round=controlled_round, platform="prolific", completion_code="OK1")
    judge = arrive(link, 1).judge
    rate_all(judge, score=3, control_score=3)
    assert participant_finish(judge=judge).outcome == Outcome.COMPLETED


def test_the_time_limit_stops_rating_and_ends_in_a_time_out_without_a_code(rating_round):
    link = study_link_create(round=rating_round, platform="prolific", time_limit_minutes=5)
    judge = arrive(link, 1).judge
    first, second = judge.assignments.order_by("position")[:2]
    rating_submit(judge=judge, public_id=first.public_id, score=4, seconds=3)
    Judge.objects.filter(pk=judge.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    judge.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        rating_submit(judge=judge, public_id=second.public_id, score=4, seconds=3)
    assert refused.value.status == 409 and "time" in refused.value.message
    participation = participant_finish(judge=judge)
    assert (participation.outcome, participation.code) == (Outcome.TIMED_OUT, "")
    assert judge.ratings.count() == 1


def test_revoking_a_participant_gives_the_others_nothing_more_and_frees_the_items_for_arrivals(k_round):
    link = study_link_create(round=k_round, platform="prolific", items_per_participant=5)
    participant = arrive(link, 1).judge
    revoked = arrive(link, 2).judge
    assert invite_revoke(judge=revoked).reassigned == 0  # a participant was promised 5 items, not more
    assert participant.assignments.count() == 5
    # The revoked judge holds nothing: their unrated items go to the next arrivals.
    others = Assignment.objects.filter(judge__round=k_round).exclude(judge=revoked)
    assert explanations_held(round_id=k_round.pk) == dict(Counter(others.values_list("explanation_id", flat=True)))
    assert invite_revoke(judge=participant).reassigned == 0
    assert explanations_held(round_id=k_round.pk) == {}  # nobody holds anything: all 21 are free again
