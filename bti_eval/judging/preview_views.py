"""A researcher's preview of the judges' page: any explanation of a round, exactly as a judge sees it.

The page is the judges' own item page (``judging/rate.html`` with the judges' inline CSS and JS)
around the same blind HTML a judge gets (the stored judge HTML when it is current, else
``explanation_judge_html``, the platform's blind rendering). Only a researcher-only
banner, outside the judge's page content, names the method and the pair. Rating is disabled:
the buttons are off, nothing is saved, and the page writes nothing (not even the HTML cache).
Staff only (judges get 403, like every researcher page).
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from bti_eval.core.permissions import researcher_required
from bti_eval.judging import selectors
from bti_eval.judging.blind import JUDGE_HTML_VERSION, explanation_judge_html
from bti_eval.judging.views import _judge_render, _score_buttons
from bti_eval.rounds.models import EvaluationRound, Explanation


def _preview_order(round: EvaluationRound) -> list[tuple[int, int, str, str, bool]]:
    """(id, pair_id, pair external id, method, is_control) of the round's DONE explanations, by pair,
    then in the round's method order, controls last."""
    rank = {method: i for i, method in enumerate(round.methods or [])}
    rows = Explanation.objects.filter(round=round, status=Explanation.Status.DONE).values_list(
        "id", "pair_id", "pair__external_id", "method", "is_control"
    )
    return sorted(rows, key=lambda r: (r[1], r[4], rank.get(r[3], len(rank)), r[3], r[0]))


@researcher_required
@require_GET
def round_preview(request: HttpRequest, round_id: int) -> HttpResponse:
    """The first explanation's preview, or the one chosen by ``?pair=<id>&method=<name>``."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    order = _preview_order(round)
    if not order:
        messages.info(request, "No explanation of this round is computed yet: there is nothing to preview.")
        return redirect("rounds:detail", round_id=round.pk)
    chosen = order[0][0]
    pair, method = request.GET.get("pair", ""), request.GET.get("method", "")
    if pair or method:
        match = [r for r in order if (not pair or str(r[1]) == pair) and (not method or r[3] == method)]
        if not match:
            messages.error(request, "That pair has no computed explanation by that method; showing the first.")
        else:
            chosen = match[0][0]
    return redirect("judging:explanation-preview", round_id=round.pk, explanation_id=chosen)


@researcher_required
@require_GET
def explanation_preview(request: HttpRequest, round_id: int, explanation_id: int) -> HttpResponse:
    round = get_object_or_404(EvaluationRound, pk=round_id)
    explanation = Explanation.objects.select_related("pair").filter(round=round, pk=explanation_id).first()
    if explanation is None or explanation.status != Explanation.Status.DONE:
        raise Http404("No such computed explanation in this round.")
    if explanation.judge_html and explanation.judge_html_version == JUDGE_HTML_VERSION:
        html = explanation.judge_html  # what judges are served
    else:
        html = explanation_judge_html(explanation=explanation)
    order = _preview_order(round)
    ids = [r[0] for r in order]
    index = ids.index(explanation.pk)

    def url(i: int) -> str | None:
        if 0 <= i < len(ids):
            return reverse("judging:explanation-preview", kwargs={"round_id": round.pk, "explanation_id": ids[i]})
        return None

    pairs = {}
    for _, pair_id, external_id, _, _ in order:
        pairs.setdefault(pair_id, external_id)
    preview = {
        "round": round,
        "method": "control (a degraded copy)" if explanation.is_control else explanation.method,
        "pair": explanation.pair,
        "index": index + 1,
        "count": len(ids),
        "previous_url": url(index - 1),
        "next_url": url(index + 1),
        "pairs": sorted(pairs.items()),
        "methods": list(dict.fromkeys(r[3] for r in order)),
        "explanation": explanation,
    }
    context = {
        "preview": preview,
        "assignment": SimpleNamespace(public_id="preview"),
        "item_number": index + 1,
        "progress": selectors.Progress(rated=0, total=len(ids)),
        "score": None,
        "explanation_html": html,
        "previous": None,
        "next": None,
        "closed": False,
        "open": False,
        "score_buttons": _score_buttons(None, False),
    }
    response = _judge_render(request, "judging/rate.html", context)
    response["Cache-Control"] = "no-store"
    return response
