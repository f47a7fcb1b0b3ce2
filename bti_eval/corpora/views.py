"""Researcher pages for corpora: upload a catalog; a corpus page to embed, mine pairs and train RecoBERT."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required
from bti_eval.corpora import services
from bti_eval.corpora.forms import CorpusUploadForm, EmbedForm, MineForm, TrainForm
from bti_eval.corpora.models import Corpus
from bti_eval.corpora.selectors import corpus_jobs, corpus_list, corpus_vector_counts
from bti_eval.pairs.services import check_upload_size


@researcher_required
def corpus_list_view(request: HttpRequest) -> HttpResponse:
    form = CorpusUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload, data = form.cleaned_data["file"], form.cleaned_data
        try:
            check_upload_size(upload.size)
            corpus = services.corpus_import(
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
            return render(request, "corpora/list.html", {"form": form, "corpora": corpus_list()}, status=exc.status)
        n_items = corpus.items.count()
        messages.success(
            request,
            f"Imported {n_items} item{pluralize(n_items)}; skipped {corpus.skipped_empty} empty "
            f"text{pluralize(corpus.skipped_empty)} and {corpus.skipped_duplicate} duplicate "
            f"text{pluralize(corpus.skipped_duplicate)}.",
        )
        return redirect("corpora:detail", corpus_id=corpus.pk)
    return render(request, "corpora/list.html", {"form": form, "corpora": corpus_list()})


_FORMS = {"embed": EmbedForm, "mine": MineForm, "train": TrainForm}


@researcher_required
def corpus_detail_view(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = get_object_or_404(Corpus, pk=corpus_id)
    action = request.POST.get("action") if request.method == "POST" else None
    forms = {name: cls(request.POST if action == name else None, prefix=name) for name, cls in _FORMS.items()}
    status = 200
    if action in forms and forms[action].is_valid():
        data = forms[action].cleaned_data
        try:
            if action == "embed":
                job = services.corpus_embed(corpus=corpus, model=data["model"], by=request.user)
                messages.success(request, f"Embedding {job.total} item{pluralize(job.total)} (job {job.pk}).")
            elif action == "mine":
                result = services.corpus_mine_pairs(corpus=corpus, by=request.user, **data)
                messages.success(
                    request,
                    f"{result['created']} new pairs ({result['existing']} existed) in source {result['source']}.",
                )
            else:
                job = services.corpus_train_recobert(corpus=corpus, by=request.user, **data)
                messages.success(request, f"Training queued (job {job.pk}).")
            return redirect("corpora:detail", corpus_id=corpus.pk)
        except ApplicationError as exc:
            forms[action].add_error(None, exc.message)
            status = exc.status
    elif action in forms:
        status = 400
    context = {
        "corpus": corpus,
        "item_count": corpus.items.count(),
        "vectors": corpus_vector_counts(corpus=corpus),
        "jobs": corpus_jobs(corpus=corpus)[:20],
        "items": corpus.items.order_by("id")[:10],
        "forms": forms,
    }
    return render(request, "corpora/detail.html", context, status=status)
