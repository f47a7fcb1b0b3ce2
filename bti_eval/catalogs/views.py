"""Researcher pages for catalogs: upload a catalog; a catalog page to embed, mine pairs and train RecoBERT."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize

from bti_eval.catalogs import services
from bti_eval.catalogs.forms import CatalogUploadForm, EmbedForm, MineForm, TrainForm
from bti_eval.catalogs.models import Catalog
from bti_eval.catalogs.selectors import catalog_jobs, catalog_list, catalog_vector_counts
from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required
from bti_eval.pairs.services import check_upload_size


@researcher_required
def catalog_list_view(request: HttpRequest) -> HttpResponse:
    form = CatalogUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload, data = form.cleaned_data["file"], form.cleaned_data
        try:
            check_upload_size(upload.size)
            catalog = services.catalog_import(
                content=upload.read(),
                filename=upload.name,
                name=data["name"],
                id_column=data["id_column"],
                text_column=data["text_column"],
                title_column=data["title_column"],
                fmt=data["format"] or None,
                by=request.user,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return render(request, "catalogs/list.html", {"form": form, "catalogs": catalog_list()}, status=exc.status)
        n_items = catalog.items.count()
        messages.success(
            request,
            f"Imported {n_items} item{pluralize(n_items)}; skipped {catalog.skipped_empty} empty "
            f"text{pluralize(catalog.skipped_empty)} and {catalog.skipped_duplicate} duplicate "
            f"text{pluralize(catalog.skipped_duplicate)}.",
        )
        return redirect("catalogs:detail", catalog_id=catalog.pk)
    return render(request, "catalogs/list.html", {"form": form, "catalogs": catalog_list()})


_FORMS = {"embed": EmbedForm, "mine": MineForm, "train": TrainForm}


@researcher_required
def catalog_detail_view(request: HttpRequest, catalog_id: int) -> HttpResponse:
    catalog = get_object_or_404(Catalog, pk=catalog_id)
    action = request.POST.get("action") if request.method == "POST" else None
    forms = {name: cls(request.POST if action == name else None, prefix=name) for name, cls in _FORMS.items()}
    status = 200
    if action in forms and forms[action].is_valid():
        data = forms[action].cleaned_data
        try:
            if action == "embed":
                job = services.catalog_embed(catalog=catalog, model=data["model"], by=request.user)
                messages.success(request, f"Embedding {job.total} item{pluralize(job.total)} (job {job.pk}).")
            elif action == "mine":
                result = services.catalog_mine_pairs(catalog=catalog, by=request.user, **data)
                messages.success(
                    request,
                    f"{result['created']} new pairs ({result['existing']} existed) in source {result['source']}.",
                )
            else:
                job = services.catalog_train_recobert(catalog=catalog, by=request.user, **data)
                messages.success(request, f"Training queued (job {job.pk}).")
            return redirect("catalogs:detail", catalog_id=catalog.pk)
        except ApplicationError as exc:
            forms[action].add_error(None, exc.message)
            status = exc.status
    elif action in forms:
        status = 400
    context = {
        "catalog": catalog,
        "item_count": catalog.items.count(),
        "vectors": catalog_vector_counts(catalog=catalog),
        "jobs": catalog_jobs(catalog=catalog)[:20],
        "items": catalog.items.order_by("id")[:10],
        "forms": forms,
    }
    return render(request, "catalogs/detail.html", context, status=status)
