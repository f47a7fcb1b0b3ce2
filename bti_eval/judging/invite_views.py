"""The researcher's judges page: invite one judge or many, re-issue and revoke links, watch progress;
its crowd study links (``study_views``) with their participants' arrivals, completions and times.

A fresh link is shown until the researcher dismisses it. Each link issued in this browser session
(invited, invited in bulk, or re-issued) is kept in the session, server-side, and listed on the
round's judges page with a copy button and a CSV download, until the researcher dismisses the list,
or the link is used, revoked or replaced (then it is of no use any more and leaves the list by
itself). Inviting Bob therefore never hides Alice's link. Only a hash of each token is stored in
the database; the raw links live in the session only.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required
from bti_eval.judging import crowd, selectors
from bti_eval.judging.forms import BulkInviteForm, InviteForm, ReissueForm, StudyLinkForm
from bti_eval.judging.models import Judge, StudyLink
from bti_eval.judging.services import invites
from bti_eval.rounds.models import EvaluationRound

FRESH_LINKS = "judging_fresh_links"


def invite_url(request: HttpRequest, token: str) -> str:
    """The absolute invite link of a raw token (shown to the researcher once, never stored)."""
    return request.build_absolute_uri(reverse("judging:invite-accept", kwargs={"token": token}))


def study_link_url(request: HttpRequest, link: StudyLink) -> str:
    """The absolute address of a study link, without the platform's parameters."""
    return request.build_absolute_uri(reverse("judging:study-arrive", kwargs={"token": link.token}))


def study_participant_url(request: HttpRequest, link: StudyLink) -> str:
    """The study link to paste into the platform (``crowd.participant_url``: Prolific's placeholders,
    MTurk's bare address, a generic site's stand-ins)."""
    return crowd.participant_url(
        link.platform,
        study_link_url(request, link),
        participant_param=link.participant_param,
        session_param=link.session_param,
    )


# --- the links issued in this browser session --------------------------------------------------


def _remember_links(request: HttpRequest, round_id: int, issued: list[tuple[Judge, str]]) -> None:
    """Add freshly issued links to the session's list for the round (a judge's newer link replaces
    their older one)."""
    store = request.session.get(FRESH_LINKS, {})
    entries = [e for e in store.get(str(round_id), []) if e["judge"] not in {judge.pk for judge, _ in issued}]
    for judge, token in issued:
        expires_at = judge.invite.expires_at
        entries.append(
            {
                "judge": judge.pk,
                "name": judge.name,
                "url": invite_url(request, token),
                "hash": invites.token_hash(token),
                "expires_at": expires_at.isoformat() if expires_at else None,
            }
        )
    store[str(round_id)] = entries
    request.session[FRESH_LINKS] = store


def _fresh_links(request: HttpRequest, round: EvaluationRound, judges: list[Judge]) -> list[dict]:
    """The session's links for ``round`` that still work: their invite is pending and not replaced.
    The others are dropped from the session."""
    store = request.session.get(FRESH_LINKS, {})
    entries = store.get(str(round.pk), [])
    if not entries:
        return []
    pending = {
        judge.pk: judge.invite.token_hash for judge in judges if selectors.judge_invite_status(judge=judge) == "pending"
    }
    live = [e for e in entries if pending.get(e["judge"]) == e["hash"]]
    if len(live) != len(entries):
        if live:
            store[str(round.pk)] = live
        else:
            store.pop(str(round.pk), None)
        request.session[FRESH_LINKS] = store
    return [{**e, "expires": datetime.fromisoformat(e["expires_at"]) if e["expires_at"] else None} for e in live]


def _judges_page(
    request: HttpRequest,
    round: EvaluationRound,
    *,
    invite_form: InviteForm | None = None,
    bulk_form: BulkInviteForm | None = None,
    study_form: StudyLinkForm | None = None,
    error: str = "",
    study_error: str = "",
    status: int = 200,
) -> HttpResponse:
    judges = list(selectors.round_judges_with_progress(round=round))
    study_links = [(link, study_participant_url(request, link)) for link in selectors.round_study_links(round=round)]
    context = {
        "study_links": study_links,
        "study_form": study_form or StudyLinkForm(),
        "study_error": study_error,
        "crowd": selectors.crowd_summary(selectors.round_participants(round=round)) if study_links else None,
        "round": round,
        "judges": [(judge, selectors.judge_invite_status(judge=judge)) for judge in judges],
        "fresh_links": _fresh_links(request, round, judges),
        "invite_form": invite_form or InviteForm(),
        "bulk_form": bulk_form or BulkInviteForm(),
        "error": error,
        "can_invite": round.status != EvaluationRound.Status.CLOSED,
    }
    response = render(request, "judging/round_judges.html", context, status=status)
    response["Cache-Control"] = "no-store"  # it may list live invite links
    return response


# --- pages -------------------------------------------------------------------------------------


@researcher_required
@require_http_methods(["GET", "POST"])
def round_judges(request: HttpRequest, round_id: int) -> HttpResponse:
    """A round's judges with progress and the links issued in this session; POST invites one judge."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    if request.method == "GET":
        return _judges_page(request, round)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _judges_page(request, round, invite_form=form, status=400)
    try:
        judge, token = invites.judge_invite(
            round=round, name=form.cleaned_data["name"], expires_in_hours=form.cleaned_data["expires_in_hours"]
        )
    except ApplicationError as exc:
        return _judges_page(request, round, invite_form=form, error=exc.message, status=exc.status)
    _remember_links(request, round.pk, [(judge, token)])
    return redirect("judging:round-judges", round_id=round.pk)


@researcher_required
@require_POST
def round_judges_bulk(request: HttpRequest, round_id: int) -> HttpResponse:
    """Invite several judges at once (names one per line and/or a CSV file); all or none."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    form = BulkInviteForm(request.POST, request.FILES)
    if not form.is_valid():
        return _judges_page(request, round, bulk_form=form, status=400)
    try:
        issued = invites.judges_invite(
            round=round, names=form.cleaned_data["all_names"], expires_in_hours=form.cleaned_data["expires_in_hours"]
        )
    except ApplicationError as exc:
        return _judges_page(request, round, bulk_form=form, error=exc.message, status=exc.status)
    _remember_links(request, round.pk, issued)
    messages.success(request, f"{len(issued)} judge{'s' if len(issued) != 1 else ''} invited.")
    return redirect("judging:round-judges", round_id=round.pk)


@researcher_required
@require_POST
def judge_reissue(request: HttpRequest, round_id: int, judge_id: int) -> HttpResponse:
    """A new link for the same judge: the old link and its sessions stop; ratings and assignments stay."""
    judge = get_object_or_404(Judge, pk=judge_id, round_id=round_id)
    form = ReissueForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["expires_in_hours"][0])
        return redirect("judging:round-judges", round_id=round_id)
    try:
        judge, token = invites.invite_reissue(judge=judge, expires_in_hours=form.cleaned_data["expires_in_hours"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        _remember_links(request, round_id, [(judge, token)])
        messages.success(
            request, f"A new link for {judge}: the old one no longer works. Their ratings and progress are kept."
        )
    return redirect("judging:round-judges", round_id=round_id)


@researcher_required
@require_POST
def judge_revoke(request: HttpRequest, round_id: int, judge_id: int) -> HttpResponse:
    judge = get_object_or_404(Judge, pk=judge_id, round_id=round_id)
    revoked = invites.invite_revoke(judge=judge)
    if revoked.reassigned:
        messages.info(
            request,
            f"{revoked.judge} can no longer rate. {revoked.reassigned} of their unrated items went to other "
            "judges, so that each item keeps its number of judges.",
        )
    return redirect("judging:round-judges", round_id=round_id)


@never_cache
@researcher_required
@require_GET
def round_judges_links_csv(request: HttpRequest, round_id: int) -> HttpResponse:
    """The links issued in this session that still work, as CSV (name, link, expires_at UTC)."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    judges = list(selectors.round_judges_with_progress(round=round))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["judge_id", "name", "invite_link", "expires_at"])
    for entry in _fresh_links(request, round, judges):
        writer.writerow([entry["judge"], _csv_safe(entry["name"]), entry["url"], entry["expires_at"] or "never"])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="round-{round.pk}-invite-links.csv"'
    return response


def _csv_safe(value: str) -> str:
    """A name as a CSV cell that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@researcher_required
@require_POST
def round_judges_links_dismiss(request: HttpRequest, round_id: int) -> HttpResponse:
    """Forget this session's links for the round (they keep working; they are just no longer shown)."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    store = request.session.get(FRESH_LINKS, {})
    if store.pop(str(round.pk), None) is not None:
        request.session[FRESH_LINKS] = store
    return redirect("judging:round-judges", round_id=round.pk)
