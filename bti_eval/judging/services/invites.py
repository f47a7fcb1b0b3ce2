"""Invites: a judge, their user and one-time link; re-issuing, using and revoking links.

Every service runs in ``transaction.atomic`` and raises ``ApplicationError`` (with the HTTP status
the API answers) for anything a user can cause.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Invite, Judge
from bti_eval.judging.services.assignments import assignments_build, assignments_reassign
from bti_eval.rounds.models import EvaluationRound


def token_hash(token: str) -> str:
    """sha256 hex digest of an invite token (only the hash is stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


MAX_NAME_LENGTH = 200
MAX_BULK_INVITES = 500
INVITE_ROUND_CLOSED = "This round is closed; judges can no longer be invited."


def judge_name_clean(name: str | None) -> str:
    """A judge's name as given, stripped; ApplicationError for one that is too long or holds NUL
    (PostgreSQL cannot store NUL in text). An empty name stays empty (``judge_invite`` numbers it)."""
    name = (name or "").strip()
    if "\x00" in name:
        raise ApplicationError("The judge's name must not contain NUL characters.")
    if len(name) > MAX_NAME_LENGTH:
        raise ApplicationError(f"The judge's name must be at most {MAX_NAME_LENGTH} characters.")
    return name


def _invite_expiry(expires_in_hours: int | None):
    if expires_in_hours is None:
        return None
    if isinstance(expires_in_hours, bool) or not (1 <= expires_in_hours <= 24 * 365):
        raise ApplicationError("An invite must expire after 1 hour to 1 year (or never).")
    return timezone.now() + timedelta(hours=expires_in_hours)


def _round_for_invites(round: EvaluationRound) -> EvaluationRound:
    round = EvaluationRound.objects.select_for_update().get(pk=round.pk)  # orders us with round opening
    if round.status == EvaluationRound.Status.CLOSED:
        raise ApplicationError(INVITE_ROUND_CLOSED, status=409)
    return round


def _judge_create(*, round: EvaluationRound, name: str, expires_at) -> tuple[Judge, str]:
    """A judge, their user and invite (``round`` row-locked by the caller); returns (judge, token)."""
    if not name:  # "Judge N", N counting the round's judges with this one (the round row is locked)
        name = f"Judge {Judge.objects.filter(round=round).count() + 1}"
    user = get_user_model()(username=f"judge-{secrets.token_hex(8)}")
    user.set_unusable_password()
    user.save()
    judge = Judge.objects.create(round=round, user=user, name=name, seed=secrets.randbits(62))
    token = secrets.token_urlsafe(32)
    judge.invite = Invite.objects.create(judge=judge, token_hash=token_hash(token), expires_at=expires_at)
    if round.status == EvaluationRound.Status.RATING:
        assignments_build(judge=judge)
    return judge, token


@transaction.atomic
def judge_invite(*, round: EvaluationRound, name: str, expires_in_hours: int | None = 72) -> tuple[Judge, str]:
    """Create a judge for ``round`` and a one-time invite; returns (judge, raw token).

    The judge's user gets a random username and an unusable password (the invite link is the only
    way in). Only sha256(token) is stored, so the raw token can be shown once. If the round is
    already rating, the judge's assignments are built at once. ``expires_in_hours=None``: never expires.
    An empty name becomes "Judge N", N counting the round's judges (this one included).
    """
    name = judge_name_clean(name)
    expires_at = _invite_expiry(expires_in_hours)
    round = _round_for_invites(round)
    return _judge_create(round=round, name=name, expires_at=expires_at)


@transaction.atomic
def judges_invite(
    *, round: EvaluationRound, names: list[str], expires_in_hours: int | None = 72
) -> list[tuple[Judge, str]]:
    """Invite several judges at once (``judge_invite`` for each name, in order): all or none. A bad
    name rejects the whole list, naming its line; empty names become "Judge N". At most
    ``MAX_BULK_INVITES`` per call."""
    if not names:
        raise ApplicationError("Give at least one name (an empty one becomes “Judge N”).")
    if len(names) > MAX_BULK_INVITES:
        raise ApplicationError(f"At most {MAX_BULK_INVITES} judges can be invited at once; got {len(names)}.")
    cleaned = []
    for line, name in enumerate(names, start=1):
        try:
            cleaned.append(judge_name_clean(name))
        except ApplicationError as exc:
            raise ApplicationError(f"Name {line}: {exc.message}", extra={"line": line}) from None
    expires_at = _invite_expiry(expires_in_hours)
    round = _round_for_invites(round)
    return [_judge_create(round=round, name=name, expires_at=expires_at) for name in cleaned]


@transaction.atomic
def invite_reissue(*, judge: Judge, expires_in_hours: int | None = 72) -> tuple[Judge, str]:
    """A new one-time link for the same judge; returns (judge, raw token). The old link stops
    working, and so does any session it opened (the user's unusable password is drawn again, which
    changes Django's session hash): the judge continues from the new link, on any device, with
    their assignments, order and ratings as they were. The safe way for a judge to move to a second
    device. A revoked judge (409) must be invited again as a new judge; a closed round: 409."""
    judge = Judge.objects.select_for_update().select_related("user", "round").get(pk=judge.pk)
    if not judge.user.is_active:
        raise ApplicationError(
            "This judge was revoked; their link cannot be re-issued. Invite them again as a new judge.", status=409
        )
    if judge.round.status == EvaluationRound.Status.CLOSED:
        raise ApplicationError("This round is closed; links can no longer be re-issued.", status=409)
    expires_at = _invite_expiry(expires_in_hours)
    token = secrets.token_urlsafe(32)
    judge.invite, _ = Invite.objects.update_or_create(
        judge=judge,
        defaults={
            "token_hash": token_hash(token),
            "expires_at": expires_at,
            "used_at": None,
            "revoked_at": None,
            "created_at": timezone.now(),
        },
    )
    judge.user.set_unusable_password()  # a new session hash: the old device is signed out
    judge.user.save(update_fields=["password"])
    return judge, token


def invite_usable(*, token: str, user=None, lock: bool = False) -> Invite:
    """The invite behind ``token`` if it can still be used, else ApplicationError (nothing written).

    ``user`` is who the browser is already signed in as: the judge the link belongs to may always
    come back through it. Unknown → 404; revoked, used or expired → 410 with what to do.
    """
    invites = Invite.objects.select_related("judge__user").filter(token_hash=token_hash(token))
    invite = (invites.select_for_update() if lock else invites).first()
    if invite is None:
        raise ApplicationError(
            "This invite link is not valid. Check that you copied the whole link, or ask the researcher for a new one.",
            status=404,
        )
    if invite.revoked_at is not None:
        raise ApplicationError("This invite link was revoked; ask the researcher for a new one.", status=410)
    if invite.used_at is not None:
        if user is not None and user.is_authenticated and user.pk == invite.judge.user_id:
            return invite
        raise ApplicationError("This link was already used; ask the researcher for a new one.", status=410)
    if invite.expires_at is not None and invite.expires_at <= timezone.now():
        raise ApplicationError("This invite link has expired; ask the researcher for a new one.", status=410)
    return invite


@transaction.atomic
def invite_accept(*, token: str, user=None) -> Judge:
    """Use an invite: returns its judge, marking the invite used (single use, row-locked).

    A second use by the judge already signed in through it just continues (see ``invite_usable``).
    """
    invite = invite_usable(token=token, user=user, lock=True)
    if invite.used_at is None:
        invite.used_at = timezone.now()
        invite.save(update_fields=["used_at"])
    return invite.judge


@dataclasses.dataclass(frozen=True)
class RevokedJudge:
    """What ``invite_revoke`` did: the judge (re-read, now inactive) and how many assignments their
    unrated explanations made for other judges."""

    judge: Judge
    reassigned: int


@transaction.atomic
def invite_revoke(*, judge: Judge) -> RevokedJudge:
    """Revoke a judge's invite and access: the link stops working and the judge's user is deactivated
    (which ends any open session). Ratings already given stay. In a k-per-item round open for
    rating, the explanations the judge had not rated go to other active judges so that each keeps
    k of them (``assignments_reassign``); ``reassigned`` says how many assignments that made.
    Revoking twice is harmless (and reassigns nothing the second time)."""
    judge = Judge.objects.select_for_update().select_related("user", "round").get(pk=judge.pk)
    now = timezone.now()
    Invite.objects.filter(judge=judge, revoked_at__isnull=True).update(revoked_at=now)
    reassigned = 0
    if judge.user.is_active:
        judge.user.is_active = False
        judge.user.save(update_fields=["is_active"])
        reassigned = assignments_reassign(judge=judge)
    return RevokedJudge(judge=judge, reassigned=reassigned)
