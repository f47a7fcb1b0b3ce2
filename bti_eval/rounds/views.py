"""Researcher pages for rounds: list, create, detail with progress, and the state-changing buttons."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required
from bti_eval.pairs.selectors import pair_ids_select
from bti_eval.pairs.services import check_upload_size
from bti_eval.rounds import services
from bti_eval.rounds.forms import ImportedMethodForm, RoundCreateForm
from bti_eval.rounds.imported import imported_method_create, imported_method_remove
from bti_eval.rounds.models import DEFAULT_PAIRS_SHOWN, EvaluationRound
from bti_eval.rounds.selectors import (
    round_imported_methods,
    round_list,
    round_pairs_jsonl,
    round_progress,
    round_truncation,
)


@researcher_required
def round_list_view(request: HttpRequest) -> HttpResponse:
    """The rounds, newest first; archived ones only with ``?archived=1`` ("show archived")."""
    archived = request.GET.get("archived") in ("1", "true", "yes")
    context = {"rounds": round_list(archived=archived), "show_archived": archived}
    return render(request, "rounds/list.html", context)


@researcher_required
def round_create_view(request: HttpRequest) -> HttpResponse:
    form = RoundCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pair_ids = pair_ids_select(source=data["source"] or None, limit=data["limit"], seed=data["seed"])
            round = services.round_create(
                name=data["name"],
                pairs=pair_ids,
                methods=data["methods"],
                model=data["model"],
                dtype=data["dtype"] or "fp32",
                pooling=data["pooling"],
                top_k=data["top_k"],
                pairs_shown=data["pairs_shown"] or DEFAULT_PAIRS_SHOWN,
                seed=data["seed"],
                by=request.user,
                design=data["design"] or EvaluationRound.Design.ALL,
                judges_per_explanation=data["judges_per_explanation"],
                control_items=data["control_items"] or 0,
                too_fast_seconds=data["too_fast_seconds"],
                auto_metrics=data["auto_metrics"],
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            n = len(pair_ids)
            messages.success(request, f"Round “{round.name}” created with {n} pair{pluralize(n)}. Launch it below.")
            return redirect(reverse("rounds:detail", args=[round.pk]))
    return render(request, "rounds/new.html", {"form": form}, status=400 if form.errors else 200)


@researcher_required
def round_detail_view(request: HttpRequest, round_id: int) -> HttpResponse:
    return _detail(request, get_object_or_404(EvaluationRound, pk=round_id))


def _detail(
    request: HttpRequest,
    round: EvaluationRound,
    *,
    import_form: ImportedMethodForm | None = None,
    import_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """The round page; after a refused upload, with its form, the file's errors by line, and ``status``."""
    imported = round_imported_methods(round=round)
    context = {
        "round": round,
        "progress": round_progress(round=round),
        "pair_count": round.pairs.count(),
        "truncation": round_truncation(round=round),
        "imported": imported,
        "imported_names": [row["method"] for row in imported],
        "import_form": import_form or ImportedMethodForm(),
        "import_errors": import_errors or {},
    }
    return render(request, "rounds/detail.html", context, status=status)


@researcher_required
@require_POST
def round_import_view(request: HttpRequest, round_id: int) -> HttpResponse:
    """Upload explanations computed elsewhere as a method of the draft round; back to the round page,
    or the page again with every error of the file by line (nothing was imported)."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    form = ImportedMethodForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail(request, round, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        check_upload_size(upload.size)  # before reading it into memory
        method = imported_method_create(
            round=round, name=form.cleaned_data["name"], content=upload.read(), file_name=upload.name, by=request.user
        )
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _detail(request, round, import_form=form, import_errors=exc.extra, status=exc.status)
    messages.success(
        request,
        f"Imported {method.lines} explanation{pluralize(method.lines)} from “{method.file_name}” as method "
        f"“{method.name}”. Launching completes them with the round's model.",
    )
    return redirect(reverse("rounds:detail", args=[round.pk]))


@researcher_required
@require_POST
def round_imported_remove_view(request: HttpRequest, round_id: int, name: str) -> HttpResponse:
    """Take an imported method out of a draft round; back to the round page with what happened."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    try:
        imported_method_remove(round=round, name=name)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The imported method “{name}” and its explanations were removed from the round.")
    return redirect(reverse("rounds:detail", args=[round.pk]))


@researcher_required
def round_pairs_download_view(request: HttpRequest, round_id: int) -> HttpResponse:
    """The round's pairs as JSON Lines ``{"id", "a", "b"}``: the input to explain them elsewhere and
    to check an import file with ``python -m explainers validate FILE --pairs``."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    response = StreamingHttpResponse(round_pairs_jsonl(round=round), content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="round-{round.pk}-pairs.jsonl"'
    return response


def _action(service: Callable[[EvaluationRound, HttpRequest], str]):
    """A POST-only researcher view running ``service`` on the round, then back to the round page."""

    @researcher_required
    @require_POST
    def view(request: HttpRequest, round_id: int) -> HttpResponse:
        round = get_object_or_404(EvaluationRound, pk=round_id)
        try:
            messages.success(request, service(round, request))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(reverse("rounds:detail", args=[round.pk]))

    return view


def _launch(round, request) -> str:
    services.round_launch(round=round, by=request.user)
    return "Launched: the workers are computing the explanations."


def _retry(round, request) -> str:
    retried = services.explanations_retry_failed(round=round)
    return f"Retrying {retried} explanation{pluralize(retried)}."


def _drop(round, request) -> str:
    result = services.explanations_drop_failed(round=round)
    opened = " The round is now open for rating." if result["opened"] else ""
    return f"Dropped {result['dropped']} failed explanation{pluralize(result['dropped'])}.{opened}"


def _saying(service: Callable[..., object], message: str) -> Callable[[EvaluationRound, HttpRequest], str]:
    """An action that runs ``service(round=round)`` and always tells the researcher ``message``."""

    def run(round, request) -> str:
        service(round=round)
        return message

    return run


@researcher_required
@require_POST
def round_delete_view(request: HttpRequest, round_id: int) -> HttpResponse:
    """Delete a draft round, then back to the round list (on refusal, back to the round page)."""
    round = get_object_or_404(EvaluationRound, pk=round_id)
    try:
        deleted = services.round_delete(round=round)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("rounds:detail", args=[round.pk]))
    judges = deleted["judges"]
    with_judges = f" with its {judges} invited judge{pluralize(judges)}" if judges else ""
    messages.success(request, f"Draft round “{deleted['name']}” deleted{with_judges}. Its pairs are kept.")
    return redirect(reverse("rounds:list"))


round_launch_view = _action(_launch)
round_retry_failed_view = _action(_retry)
round_drop_failed_view = _action(_drop)
round_open_view = _action(
    _saying(
        services.round_open,
        "The round is open for rating: each invited judge has their assignments in a shuffled order.",
    )
)
round_close_view = _action(_saying(services.round_close, "The round is closed: ratings are frozen."))
round_archive_view = _action(
    _saying(
        services.round_archive,
        "The round is archived: hidden from the round list, with all its data kept. Restore it any time.",
    )
)
round_restore_view = _action(_saying(services.round_restore, "The round is restored to the round list."))
