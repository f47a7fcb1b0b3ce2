"""Researcher results page: the paper's table for one round, with export links."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from bti_eval.core.permissions import researcher_required
from bti_eval.results.exports import FORMATS
from bti_eval.results.selectors import round_results
from bti_eval.rounds.models import EvaluationRound


@researcher_required
def round_results_view(request: HttpRequest, round_id: int) -> HttpResponse:
    round = get_object_or_404(EvaluationRound, pk=round_id)
    context = {"round": round, "results": round_results(round=round), "formats": FORMATS}
    return render(request, "results/round_results.html", context)
