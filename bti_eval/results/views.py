"""Researcher results page: the report of one round (tables, plot, agreement, tests, judges, automatic
metrics), the without-flagged-judges toggle, export links, and a button to queue the automatic metrics."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required
from bti_eval.core.views import error_page
from bti_eval.results import planning, services
from bti_eval.results.exports import FORMATS
from bti_eval.results.forms import PlanForm
from bti_eval.results.plots import inline_svg, means_plot_svg
from bti_eval.results.report import parse_exclude_flagged, round_report
from bti_eval.results.selectors import round_item_remarks
from bti_eval.results.tables import report_rows
from bti_eval.rounds.imported import imported_names
from bti_eval.rounds.models import EvaluationRound


@researcher_required
def round_results_view(request: HttpRequest, round_id: int) -> HttpResponse:
    round = get_object_or_404(EvaluationRound, pk=round_id)
    try:
        exclude = parse_exclude_flagged(request.GET.get("exclude_flagged"))
    except ApplicationError as exc:
        return error_page(request, 400, "Invalid option", exc.message)
    report = round_report(round=round, exclude_flagged=exclude)
    if report.get("kind") == "pairwise":
        return _pairwise_results(request, round, report, exclude)
    context = {
        **_page_context(round, report, exclude),
        # matplotlib's SVG: numbers and our own method labels only, text escaped by matplotlib.
        "plot": mark_safe(inline_svg(means_plot_svg(report))),
        "auto": report["auto"] or {},
        "plan_form": PlanForm(),  # the plan itself is computed only on its own page, when asked
        "imported_names": imported_names(round=round),
        **report_rows(report),
    }
    return render(request, "results/round_results.html", context)


def _pairwise_results(request: HttpRequest, round: EvaluationRound, report: dict, exclude: bool) -> HttpResponse:
    """A pairwise round's results page: Bradley–Terry strengths, plot, Kendall's tau, win rates, judges."""
    from bti_eval.results.pairwise_exports import pairwise_rows
    from bti_eval.results.plots import strengths_plot_svg

    context = {
        **_page_context(round, report, exclude),
        "bt": report["pairwise"],
        "plot": mark_safe(inline_svg(strengths_plot_svg(report))),  # matplotlib's SVG, as means_plot_svg
        **pairwise_rows(report),
    }
    return render(request, "results/round_results_pairwise.html", context)


def _page_context(round: EvaluationRound, report: dict, exclude: bool) -> dict:
    """What every results page shows (``results/base.html``): the round and its report, the export links (carrying
    the without-flagged-judges option), the flagged judges, and the judges' remarks on items."""
    return {
        "round": round,
        "results": report,
        "formats": FORMATS,
        "exclude_flagged": exclude,
        "query": "&exclude_flagged=1" if exclude else "",
        "flagged": [j for j in report["judges"] if j["flagged"]],
        "remarks": round_item_remarks(round=round),
    }


@researcher_required
def round_plan_view(request: HttpRequest, round_id: int) -> HttpResponse:
    """The study plan from this round as a pilot (``results.planning``), computed when the form is
    sent (a GET with its fields) and cached until a rating changes; the empty page shows the form."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    form = PlanForm(request.GET or None)
    plan, status = None, 200
    if form.is_bound:
        if form.is_valid():
            try:
                plan = planning.round_plan(round=round, **form.settings())
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status
        else:
            status = 400
    return render(request, "results/round_plan.html", {"round": round, "form": form, "plan": plan}, status=status)


@researcher_required
@require_POST
def round_auto_metrics_view(request: HttpRequest, round_id: int) -> HttpResponse:
    round = get_object_or_404(EvaluationRound, pk=round_id)
    try:
        job, created = services.auto_evaluation_request(round=round)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, "The automatic metrics are queued; a worker on the metrics queue computes them.")
        else:
            messages.info(
                request,
                f"The automatic metrics of this round are already {job.status} ({job.chunks_done} of "
                f"{job.chunks_total} steps done); nothing new was queued.",
            )
    return redirect(reverse("results:round", args=[round.pk]))
