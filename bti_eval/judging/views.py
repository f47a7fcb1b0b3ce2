"""Judging pages. Thin: each view checks who is asking, calls a selector or service, renders.

Judge pages use ``templates/judging/base.html`` (no researcher navigation) and inline their own
CSS and JS, so no URL on a judge's page names anything but the page itself.
"""

from __future__ import annotations

import math
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.contrib.auth import login
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from bti_eval.core import ratelimit
from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.middleware import ContentSecurityPolicyMiddleware
from bti_eval.judging import crowd, queries, selectors
from bti_eval.judging.auth import JUDGE_BACKEND
from bti_eval.judging.models import COMMENT_MAX_LENGTH, Judge
from bti_eval.judging.services import invites, judge_html, studies
from bti_eval.rounds.models import EvaluationRound
from explainers.render import RENDER_CSS

RUBRIC_SEEN = "judging_rubric_seen"
Status = EvaluationRound.Status


# --- helpers ---------------------------------------------------------------------------------


def _cached_unless_debug(function):
    """``functools.cache`` of ``function``, once per process; called afresh in DEBUG, so that an
    edited template or static file shows at once."""
    cached = cache(function)

    @wraps(function)
    def call(*args):
        return function(*args) if settings.DEBUG else cached(*args)

    return call


@_cached_unless_debug
def _static_text(name: str) -> str:
    path = finders.find(name)
    return Path(path).read_text(encoding="utf-8") if path else ""


SCORES = [(1, "Not at all"), (2, "Slightly"), (3, "Partly"), (4, "Mostly"), (5, "Completely")]


@_cached_unless_debug
def _score_buttons(score: int | None, open: bool) -> str:
    """The item page's 1-5 buttons (``judging/_scores.html``), rendered once per process for each of
    the twelve (score, open) states: the loop is the costliest part of the page's template."""
    html = get_template("judging/_scores.html").render({"scores": SCORES, "score": score, "open": open})
    return mark_safe(html.strip())  # noqa: S308 - our own template's autoescaped output


# A pairwise item's answers: (choice, label, key hints). The keys follow the pairing:
# ← or 1 the left explanation, → or 2 the right one, ↓ or 3 about the same (judge.js).
CHOICES = [
    ("left", "Left is better", "← or 1"),
    ("same", "About the same", "↓ or 3"),
    ("right", "Right is better", "→ or 2"),
]


@_cached_unless_debug
def _choice_buttons(choice: str | None, open: bool) -> str:
    """A pairwise item's three buttons (``judging/_choices.html``), rendered once per process for
    each of the eight (choice, open) states, as ``_score_buttons``."""
    html = get_template("judging/_choices.html").render({"choices": CHOICES, "choice": choice, "open": open})
    return mark_safe(html.strip())  # noqa: S308 - our own template's autoescaped output


@_cached_unless_debug
def _inline_assets() -> tuple[str, str]:
    """(CSS, JS) that every judge page inlines, marked safe once per process (re-read in DEBUG)."""
    css = _static_text("bti/judge.css") + "\n" + RENDER_CSS
    return mark_safe(css), mark_safe(_static_text("bti/judge.js"))  # noqa: S308 - our files


def _judge_render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Render a judge page with the inline assets (the judge's CSS and JS, the renderer's CSS)."""
    judge_css, judge_js = _inline_assets()
    context = {
        **context,
        "judge_css": judge_css,
        "judge_js": judge_js,
        # JS reads the CSRF cookie; the token goes into the page only when the cookie is hidden from JS.
        "csrf_in_page": settings.CSRF_COOKIE_HTTPONLY or settings.CSRF_USE_SESSIONS,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
    }
    return render(request, template, context, status=status)


def _judge_error(request: HttpRequest, status: int, title: str, message: str, *, polite: bool = False) -> HttpResponse:
    """A judge-facing refusal; ``polite``: not an error of the visitor's (a study that is full or
    closed), so the message is not shown in the error colour."""
    context = {"title": title, "message": message, "polite": polite}
    return _judge_render(request, "judging/error.html", context, status=status)


def _too_many_invalid_links(request: HttpRequest, limit: ratelimit.Limit, message: str) -> HttpResponse:
    """The 429 page of an address that opened too many unknown links (invites or study links), with
    the time to wait in ``Retry-After``."""
    response = _judge_error(request, 429, "Too many invalid links", message)
    response["Retry-After"] = str(limit.window_seconds)
    return response


def judge_required(view):
    """Judge pages: the signed-in user must be an active judge (anonymous and researchers get 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        judge = selectors.judge_for_user(user=request.user)
        if judge is None:
            return _judge_error(
                request,
                403,
                "Open your invite link",
                "These pages are for judges. Open the invite link you were sent; "
                "if it no longer works, ask the researcher for a new one.",
            )
        return view(request, judge, *args, **kwargs)

    return wrapper


def rating_page(view):
    """A judge's GET page of the rating flow (``judge_required``); while the judge's round is not
    open yet (draft or computing) it shows the waiting page instead."""

    @require_GET
    @judge_required
    @wraps(view)
    def wrapper(request: HttpRequest, judge: Judge, *args, **kwargs):
        if judge.round.status in (Status.DRAFT, Status.COMPUTING):
            return _judge_render(request, "judging/waiting.html", {"progress": selectors.judge_progress(judge=judge)})
        return view(request, judge, *args, **kwargs)

    return wrapper


# --- invites (judges) ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """An invite link. GET shows a start page and uses nothing up, so that a mail or chat program
    that fetches the link for a preview cannot spend it; the judge's POST signs them in (no
    password) and goes on to the rubric. An address that opened too many unknown links (someone
    guessing them) gets 429 for a while (``ratelimit.INVITE_PER_ADDRESS``)."""
    address = ratelimit.client_address(request)
    limit = ratelimit.INVITE_PER_ADDRESS
    if limit.blocked(address):
        return _too_many_invalid_links(
            request,
            limit,
            f"Too many invalid invite links were opened from your address. Wait {limit.minutes} minutes, "
            "then open the link you were sent again.",
        )
    try:
        if request.method == "GET":
            invite = invites.invite_usable(token=token, user=request.user)
            if invite.used_at is not None:  # the judge it belongs to, coming back
                return redirect("judging:rate")
            return _judge_render(request, "judging/invite.html", {})
        judge = invites.invite_accept(token=token, user=request.user)
    except ApplicationError as exc:
        if exc.status == 404:
            limit.fail(address)
        return _judge_error(request, exc.status, "This invite link does not work", exc.message)
    if request.user.pk != judge.user_id:
        login(request, judge.user, backend=JUDGE_BACKEND)
    return redirect("judging:rate")


# --- rating pages ----------------------------------------------------------------------------


@rating_page
def rate_start(request: HttpRequest, judge: Judge) -> HttpResponse:
    """First visit: the rubric with a start button; later visits: on to the next unrated item."""
    if request.session.get(RUBRIC_SEEN):
        return redirect("judging:rate-next")
    progress = selectors.judge_progress(judge=judge)
    if progress.rated:
        return redirect("judging:rate-next")
    return _judge_render(request, "judging/rubric.html", {"progress": progress, "pairwise": _pairwise(judge)})


def _pairwise(judge: Judge) -> bool:
    """Whether the judge's round is a pairwise one (its items compare two explanations)."""
    return judge.round.design == EvaluationRound.Design.PAIRWISE


@require_GET
@judge_required
def rate_rubric(request: HttpRequest, judge: Judge) -> HttpResponse:
    context = {"progress": selectors.judge_progress(judge=judge), "pairwise": _pairwise(judge)}
    return _judge_render(request, "judging/rubric.html", context)


@rating_page
def rate_next(request: HttpRequest, judge: Judge) -> HttpResponse:
    """Redirect to the first unrated item in the judge's order, or to the all-done page."""
    if not request.session.get(RUBRIC_SEEN):  # setting it again would save the session on every visit
        request.session[RUBRIC_SEEN] = True
    if studies.rating_closed_for(judge):  # a crowd participant who finished or ran out of time (no query)
        return redirect("judging:rate-done")
    following = queries.judge_first_unrated(judge_id=judge.pk) if judge.round.status == Status.RATING else None
    if following is None:
        return redirect("judging:rate-done")
    return redirect("judging:rate-item", public_id=following)


@rating_page
def rate_done(request: HttpRequest, judge: Judge) -> HttpResponse:
    progress = selectors.judge_progress(judge=judge)
    closed = judge.round.status == Status.CLOSED
    if judge.platform:
        return _participant_done(request, judge, progress, closed)
    if not closed and progress.rated < progress.total:
        return redirect("judging:rate-next")
    first = selectors.judge_assignments(judge=judge).first()
    return _judge_render(
        request,
        "judging/done.html",
        {
            "progress": progress,
            "closed": closed,
            "first_public_id": first.public_id if first else None,
            "pairwise": _pairwise(judge),
        },
    )


def _participant_done(request: HttpRequest, judge: Judge, progress, closed: bool) -> HttpResponse:
    """A crowd participant's done page: their code and the platform's way back (Prolific's return
    URL, MTurk's form POST to turkSubmitTo), once every item is rated or their time is up. The
    outcome is recorded on the first visit (``studies.participant_finish``)."""
    if not closed and progress.rated < progress.total and not studies.rating_closed_for(judge):
        return redirect("judging:rate-next")
    participation = studies.participant_finish(judge=judge)
    platform, code = judge.platform, participation.code
    context = {
        "progress": progress,
        "closed": closed,
        "crowd": True,
        "outcome": participation.outcome,
        "code": code,
        "platform_name": crowd.PLATFORM_NAMES.get(platform, platform),
        "return_url": crowd.prolific_return_url(code) if platform == crowd.PROLIFIC and code else None,
        "submit_url": None,
    }
    overrides = None
    if platform == crowd.MTURK and code and participation.submit_to in crowd.MTURK_HOSTS:
        context.update(submit_url=crowd.mturk_submit_url(participation.submit_to))
        context.update(assignment_id=participation.study_session)
        overrides = {"form-action": f"'self' {participation.submit_to}"}  # MTurk's form target, checked on arrival
    response = _judge_render(request, "judging/done.html", context)
    if overrides:
        response["Content-Security-Policy"] = ContentSecurityPolicyMiddleware.policy(
            request.path, request.csp_nonce, overrides
        )
    response["Cache-Control"] = "no-store"  # it holds the participant's code
    return response


@require_GET
@ensure_csrf_cookie
@judge_required
def rate_item(request: HttpRequest, judge: Judge, public_id: str) -> HttpResponse:
    """One explanation to rate: progress, the blind explanation, the rubric reminder, buttons 1-5."""
    if studies.rating_closed_for(judge):  # a crowd participant who finished or ran out of time (no query)
        return redirect("judging:rate-done")
    item = judge_html.judge_item_rendered(judge=judge, public_id=public_id)
    if item is None:  # another judge's item looks exactly like one that does not exist
        return _judge_error(request, 404, "Not found", "There is no such item among your assignments.")
    if item.pairwise:
        return _pairwise_item(request, judge, item)
    context = {
        **_item_context(judge, item),
        "score": item.score,
        "explanation_html": item.html,
        "score_buttons": _score_buttons(item.score, judge.round.status == Status.RATING),
        # A crowd participant's time limit, in whole minutes left (None: no limit); from the row already loaded.
        "minutes_left": math.ceil((judge.deadline_at - timezone.now()).total_seconds() / 60)
        if judge.deadline_at
        else None,
    }
    return _judge_render(request, "judging/rate.html", context)


def _pairwise_item(request: HttpRequest, judge: Judge, item: selectors.JudgeItem) -> HttpResponse:
    """A pairwise item: the two explanations side by side (the left one first in the markup, as on
    screen), the three choice buttons. Nothing on the page says which method is on which side."""
    context = {
        **_item_context(judge, item),
        "choice": item.choice,
        "left_html": item.html,
        "right_html": item.right_html,
        "choice_buttons": _choice_buttons(item.choice, judge.round.status == Status.RATING),
    }
    return _judge_render(request, "judging/rate_pairwise.html", context)


def _item_context(judge: Judge, item: selectors.JudgeItem) -> dict:
    """What every item page shows, whatever the design: the item and its number, the judge's progress, the
    previous and next items, whether the round is open or closed, and the comment's length limit."""
    return {
        "assignment": item,
        "item_number": item.position + 1,
        "progress": item.progress,
        "previous": item.previous,
        "next": item.next,
        "closed": judge.round.status == Status.CLOSED,
        "open": judge.round.status == Status.RATING,
        "comment_max_length": COMMENT_MAX_LENGTH,
    }
