"""Ratings: a judge's 1-5 score (or, on a pairwise item, choice) for one of their assignments, with
its comment, flag and history.

``rating_submit`` is the judges' busiest write; its statements are in ``judging.queries``.
"""

from __future__ import annotations

import dataclasses
import math

from django.db import transaction
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging import queries
from bti_eval.judging.models import COMMENT_MAX_LENGTH, Judge, Rating, RatingChange
from bti_eval.judging.selectors import Progress, judge_next_and_progress
from bti_eval.rounds.models import EvaluationRound

# Seconds on task are measured in the judge's browser from the moment the item was on screen
# (the page's first paint while visible) to the rating. A tab left open for hours says nothing
# about the task, so longer spans are clipped to this.
MAX_SECONDS_ON_TASK = 3600.0
MIN_SCORE, MAX_SCORE = 1, 5

SCORE_ERROR = "The score must be a whole number from 1 to 5."
CHOICES = ("left", "right", "same")  # Rating.Choice: a pairwise item's answer
CHOICE_ERROR = 'The choice must be "left", "right" or "same" (about the same).'
CHOICE_NEEDED = (
    'This item asks which of two explanations is better: send a choice ("left", "right" or "same"), not a score.'
)
SCORE_NEEDED = "This item is rated on its own from 1 to 5: send a score, not a choice."
SCORE_AND_CHOICE = "Send either a score (a rating item) or a choice (a pairwise item), not both."
ROUND_CLOSED = "This round is closed; ratings are frozen."
ROUND_NOT_OPEN = "This round is not open for rating yet; try again when the researcher opens it."
ASSIGNMENT_NOT_FOUND = "No such item among your assignments."
OTHER_ITEM = (
    "This rating was given on another item than the one it was sent for, so it was not saved. "
    "Reload the page and rate the item you see."
)
TIME_IS_UP = "Your time for this study is up, so this rating was not saved; the ones before it are. Reload the page."
STUDY_FINISHED = "You have finished this study and received your code; your ratings can no longer change."
COMMENT_TOO_LONG = f"The comment is too long: keep it to {COMMENT_MAX_LENGTH:,} characters."
COMMENT_NUL = "The comment contains a NUL character (\\0); remove it and send it again."


@dataclasses.dataclass(frozen=True)
class SubmittedRating:
    """What ``rating_submit`` did: the rating, whether it was created, and the judge's progress."""

    rating: Rating
    created: bool
    changed: bool
    progress: Progress
    next_public_id: str | None


def _clean_score(score) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise ApplicationError(SCORE_ERROR, extra={"fields": {"score": [SCORE_ERROR]}})
    return score


def _clean_choice(choice) -> str:
    if not isinstance(choice, str) or choice not in CHOICES:
        raise ApplicationError(CHOICE_ERROR, extra={"fields": {"choice": [CHOICE_ERROR]}})
    return choice


def _clean_answer(score, choice) -> tuple[int | None, str | None]:
    """A score or a choice, whichever was sent, checked; both None when neither was (which one the
    item needs is known once its row is read)."""
    if choice is not None:
        if score is not None:
            raise ApplicationError(SCORE_AND_CHOICE, extra={"fields": {"choice": [SCORE_AND_CHOICE]}})
        return None, _clean_choice(choice)
    return (_clean_score(score) if score is not None else None), None


def _check_kind(*, pairwise: bool, score: int | None, choice: str | None) -> None:
    """A pairwise item takes a choice and a rating item a score (400 otherwise)."""
    if pairwise and choice is None:
        raise ApplicationError(CHOICE_NEEDED, extra={"fields": {"choice": [CHOICE_NEEDED]}})
    if not pairwise and choice is not None:
        raise ApplicationError(SCORE_NEEDED, extra={"fields": {"score": [SCORE_NEEDED]}})
    if not pairwise:
        _clean_score(score)  # None: the score's own message


def _clean_item(*, item: str | None, public_id: str) -> None:
    """The displayed item (``item``) must be the addressed one (``public_id``); None: not checked."""
    if item is not None and item != public_id:
        raise ApplicationError(OTHER_ITEM, status=409, extra={"fields": {"item": [OTHER_ITEM]}})


def _clean_comment(comment) -> str | None:
    """None stays None (leave the comment as it is); text is stripped and checked."""
    if comment is None:
        return None
    message = None
    if not isinstance(comment, str):
        message = "The comment must be text."
    elif "\x00" in comment:
        message = COMMENT_NUL
    elif len(comment.strip()) > COMMENT_MAX_LENGTH:
        message = COMMENT_TOO_LONG
    if message:
        raise ApplicationError(message, extra={"fields": {"comment": [message]}})
    return comment.strip()


def _clean_flagged(flagged) -> bool | None:
    if flagged is None or isinstance(flagged, bool):
        return flagged
    message = "flagged must be true or false."
    raise ApplicationError(message, extra={"fields": {"flagged": [message]}})


def _clean_seconds(seconds) -> float | None:
    """None stays None; a finite number ≥ 0 is kept, clipped to MAX_SECONDS_ON_TASK; anything else is a 400."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        message = "seconds must be a number of seconds, 0 or more."
        raise ApplicationError(message, extra={"fields": {"seconds": [message]}})
    return min(float(seconds), MAX_SECONDS_ON_TASK)


@transaction.atomic
def rating_submit(
    *,
    judge: Judge,
    public_id: str,
    score: int | None,
    seconds: float | None,
    item: str | None = None,
    comment: str | None = None,
    flagged: bool | None = None,
    choice: str | None = None,
) -> SubmittedRating:
    """Save a judge's 1-5 score for one of their own assignments, at once and atomically, with the
    judge's optional comment and "this item is broken" flag. A pairwise item (two explanations side
    by side) takes a ``choice`` instead of the score: "left", "right" or "same" (about the same),
    with everything else here the same (400 for a score on a pairwise item or a choice on a rating
    item).

    ``item``: the public id of the item the judge's page displayed when the judge rated. When
    given, it must be ``public_id`` (409 otherwise, nothing saved): a rating is stored only for the
    item that was seen. The judge page always sends it; an API client may leave it out, since the
    URL names the item (and ratings queued in a browser before the field existed still arrive).

    ``comment`` (at most COMMENT_MAX_LENGTH characters after stripping, no NUL) and ``flagged``:
    None leaves the stored value as it is, so a client that sends only a score never wipes a
    judge's remark; the judge page sends both with every rating, and sends them again with the
    current score when the judge edits them after rating.

    The round row is share-locked first, so closing a round and rating in it are ordered: once the
    close commits, no rating changes. A repeat of the same score, comment and flag is the same one
    rating (a double submit); any change updates it and appends a RatingChange (the history holds
    every state, the first included). ``Rating.seconds`` sums the seconds of every decision that
    changed the score (a comment or flag edit adds none). Errors: 404 for an assignment that is not
    the judge's (existence is not revealed), 409 when the round is not rating or ``item`` is another
    item or the judge is a crowd participant who finished or whose time limit passed (checked on the
    judge row already loaded: no query), 400 for a bad score, seconds, comment or flag.
    """
    if judge.finished_at is not None:
        raise ApplicationError(STUDY_FINISHED, status=409)
    if judge.deadline_at is not None and judge.deadline_at <= timezone.now():
        raise ApplicationError(TIME_IS_UP, status=409)
    _clean_item(item=item, public_id=public_id)
    score, choice = _clean_answer(score, choice)
    seconds = _clean_seconds(seconds)
    comment = _clean_comment(comment)
    flagged = _clean_flagged(flagged)
    if "\x00" in public_id:  # no public id holds one, and PostgreSQL cannot compare it
        raise ApplicationError(ASSIGNMENT_NOT_FOUND, status=404)
    row = queries.rating_target_row(judge=judge, public_id=public_id)
    round_status, assignment_id, position, rating_id, right_explanation_id = row
    if assignment_id is None or not judge.user.is_active:  # a revoked judge
        raise ApplicationError(ASSIGNMENT_NOT_FOUND, status=404)
    _check_kind(pairwise=right_explanation_id is not None, score=score, choice=choice)
    if round_status == EvaluationRound.Status.CLOSED:
        raise ApplicationError(ROUND_CLOSED, status=409)
    if round_status != EvaluationRound.Status.RATING:
        raise ApplicationError(ROUND_NOT_OPEN, status=409)

    # A first rating (no row yet) goes straight to the insert; an existing one is re-read under a row lock.
    rating = Rating.objects.select_for_update().filter(pk=rating_id).first() if rating_id is not None else None
    created = changed = False
    if rating is None:
        rating = queries.rating_insert(
            assignment_id=assignment_id,
            judge_id=judge.pk,
            score=score,
            choice=choice,
            seconds=seconds,
            comment=comment or "",
            flagged=bool(flagged),
        )
        created = rating is not None
        if rating is None:  # a concurrent first rating won: this one is a repeat or a change of it
            rating = Rating.objects.select_for_update().get(assignment_id=assignment_id)
    if not created:
        changed = _rating_update(rating, score=score, choice=choice, seconds=seconds, comment=comment, flagged=flagged)
    following, progress = judge_next_and_progress(judge=judge, after_position=position)
    return SubmittedRating(rating=rating, created=created, changed=changed, progress=progress, next_public_id=following)


def _rating_update(
    rating: Rating,
    *,
    score: int | None,
    seconds: float | None,
    comment: str | None,
    flagged: bool | None,
    choice: str | None = None,
):
    """Apply a new score (or choice), comment or flag to a locked rating and record the new state in
    the history; False (nothing written) when nothing differs."""
    new_score = rating.score != score or rating.choice != choice
    new_comment = comment is not None and comment != rating.comment
    new_flag = flagged is not None and flagged != rating.flagged
    if not (new_score or new_comment or new_flag):
        return False
    decision_seconds = seconds if new_score else None
    rating.score, rating.choice = score, choice
    if decision_seconds is not None:
        rating.seconds = decision_seconds + (rating.seconds or 0.0)
    if new_comment:
        rating.comment = comment
    if new_flag:
        rating.flagged = flagged
    rating.save(update_fields=["score", "choice", "seconds", "comment", "flagged", "updated_at"])
    RatingChange.objects.create(
        rating=rating,
        score=score,
        choice=choice,
        seconds=decision_seconds,
        comment=rating.comment,
        flagged=rating.flagged,
    )
    return True
