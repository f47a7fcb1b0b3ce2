"""Crowd study links: the participant's arrival (``/s/<token>/``) and the researcher's actions on
the judges page (create and close links, download the participants for payment approval).

A study link answers GET only: the platforms open it with a plain link (Prolific) or inside a
frame (MTurk's ExternalQuestion). A visit signs the participant in as an invite does
(``services.studies.participant_arrive`` says who is resumed). MTurk's frame is the one place
another site may frame a page of ours: the arrival page of an MTurk link lets MTurk's two hosts
frame it, and shows either MTurk's read-only preview or a button that opens the task in a tab of
its own (sessions do not last inside another site's frame); the tab's visit resumes the judge
the frame's visit made (same worker, same assignment) and goes on to the rating pages.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST

from bti_eval.core import ratelimit
from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.middleware import ContentSecurityPolicyMiddleware
from bti_eval.core.permissions import researcher_required
from bti_eval.judging import crowd, selectors
from bti_eval.judging.auth import JUDGE_BACKEND
from bti_eval.judging.forms import StudyLinkForm
from bti_eval.judging.invite_views import _csv_safe, _judges_page
from bti_eval.judging.models import StudyLink
from bti_eval.judging.services import studies
from bti_eval.judging.views import _judge_error, _judge_render, _score_buttons, _too_many_invalid_links
from bti_eval.rounds.models import EvaluationRound

# The page title of each refusal a participant may meet (``ApplicationError.extra["reason"]``).
TITLES = {
    "closed": "This study is closed",
    "not-open": "This study is not open yet",
    "full": "This study is full",
    "other-session": "You started this study elsewhere",
    "ended": "Your participation has ended",
}
POLITE_REASONS = {"closed", "not-open", "full"}  # the study's state, not the participant's mistake
STATUS_TITLES = {404: "This study link does not work", 400: "This study link is incomplete"}


# --- participants --------------------------------------------------------------------------


def _framed_by_mturk(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let MTurk's hosts (only) frame this response."""
    hosts = " ".join(crowd.MTURK_HOSTS)
    response["Content-Security-Policy"] = ContentSecurityPolicyMiddleware.policy(
        request.path, request.csp_nonce, {"frame-ancestors": hosts}
    )
    return response


@never_cache
@xframe_options_exempt  # X-Frame-Options set below: DENY but for MTurk's frame (CSP frame-ancestors)
@require_GET
def study_arrive(request: HttpRequest, token: str) -> HttpResponse:
    """A participant opens a study link. New participants get their judge and assignments; a
    returning one goes on (see ``participant_arrive``); either is signed in and sent to the rubric.
    A missing or malformed id, a full, closed or not yet open study: a clear page, nothing created.
    An address that opened too many unknown links is refused for a while (429), as for invites."""
    address = ratelimit.client_address(request)
    limit = ratelimit.INVITE_PER_ADDRESS
    if limit.blocked(address):
        message = (
            f"Too many invalid links were opened from your address. Wait {limit.minutes} minutes, "
            "then open the study again from the platform."
        )
        return _deny_framing(_too_many_invalid_links(request, limit, message))
    try:
        arrival = studies.participant_arrive(token=token, params=dict(request.GET.lists()), user=request.user)
    except ApplicationError as exc:
        if exc.status == 404:
            limit.fail(address)
        reason = exc.extra.get("reason")
        title = TITLES.get(reason, STATUS_TITLES.get(exc.status, "This study link does not work"))
        polite = reason in POLITE_REASONS
        return _deny_framing(_judge_error(request, exc.status, title, exc.message, polite=polite))
    mturk = arrival.link.platform == crowd.MTURK
    if arrival.preview:
        return _framed_by_mturk(request, _preview(request, arrival.link))
    judge = arrival.judge
    if request.user.pk != judge.user_id:
        login(request, judge.user, backend=JUDGE_BACKEND)
    if mturk and not arrival.visit.tab:
        return _framed_by_mturk(request, _judge_render(request, "judging/study_start.html", {}))
    return _deny_framing(redirect("judging:rate"))


def _deny_framing(response: HttpResponse) -> HttpResponse:
    response["X-Frame-Options"] = "DENY"
    return response


def _preview(request: HttpRequest, link: StudyLink) -> HttpResponse:
    """MTurk's preview: the rubric and one explanation as a judge sees it, read-only; nothing written."""
    context = {
        "sample_html": selectors.round_sample_html(round_id=link.round_id),
        "score_buttons": _score_buttons(None, False),
    }
    return _judge_render(request, "judging/study_preview.html", context)


# --- researchers ---------------------------------------------------------------------------


@researcher_required
@require_POST
def round_study_links(request: HttpRequest, round_id: int) -> HttpResponse:
    """Create a study link for the round (the judges page's form)."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    form = StudyLinkForm(request.POST)
    if not form.is_valid():
        return _judges_page(request, round, study_form=form, status=400)
    try:
        link = studies.study_link_create(round=round, by=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        return _judges_page(request, round, study_form=form, study_error=exc.message, status=exc.status)
    messages.success(request, f"Study link “{link}” created: paste it into {crowd.PLATFORM_NAMES[link.platform]}.")
    return redirect(reverse("judging:round-judges", kwargs={"round_id": round.pk}) + "#study-links")


@researcher_required
@require_POST
def study_link_close(request: HttpRequest, round_id: int, link_id: int) -> HttpResponse:
    link = get_object_or_404(StudyLink, pk=link_id, round_id=round_id)
    studies.study_link_close(link=link)
    messages.info(request, f"Study link “{link}” closed: new participants see a “closed” page; the others finish.")
    return redirect(reverse("judging:round-judges", kwargs={"round_id": round_id}) + "#study-links")


PARTICIPANT_COLUMNS = [
    "judge_id",
    "platform",
    "participant_id",
    "study_session",
    "study",
    "study_link",
    "arrived_at",
    "finished_at",
    "minutes",
    "outcome",
    "code",
    "rated",
    "total",
]


@never_cache
@researcher_required
@require_GET
def round_participants_csv(request: HttpRequest, round_id: int) -> HttpResponse:
    """The round's crowd participants, for approving payments: ids, outcome, code, times (UTC)."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PARTICIPANT_COLUMNS)
    for row in selectors.round_participants(round=round):
        values = {**row, "arrived_at": row["arrived_at"].isoformat(), "study_link": row["study_link_label"]}
        values["finished_at"] = row["finished_at"].isoformat() if row["finished_at"] else ""
        writer.writerow([_csv_safe(str(values[c])) if values[c] is not None else "" for c in PARTICIPANT_COLUMNS])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="round-{round.pk}-participants.csv"'
    return response
