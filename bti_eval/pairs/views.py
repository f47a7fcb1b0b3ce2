"""Researcher pages for pairs: upload a file, map its columns over a preview, confirm; list and delete pairs."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required
from bti_eval.pairs import parsing, staging
from bti_eval.pairs.forms import PairMappingForm, PairUploadForm
from bti_eval.pairs.selectors import pair_list_with_use, pair_sources
from bti_eval.pairs.services import check_upload_size, pairs_delete, pairs_file_read, pairs_import_parsed

SESSION_KEY = "pairs_import"
RAW_PREVIEW_ROWS = 5


@researcher_required
def pair_list_view(request: HttpRequest) -> HttpResponse:
    source = request.GET.get("source")
    page = Paginator(pair_list_with_use(source=source), 50).get_page(request.GET.get("page"))
    return render(request, "pairs/list.html", {"page": page, "source": source, "sources": pair_sources()})


@researcher_required
@require_POST
def pair_delete_view(request: HttpRequest) -> HttpResponse:
    """Delete the checked pairs (``pair`` ids), or a whole ``source``; back to the list with what happened."""
    source = request.POST.get("source")
    back = reverse("pairs:list")
    try:
        if source is not None:
            result = pairs_delete(source=source)
        else:
            ids = request.POST.getlist("pair")
            if not all(i.isdigit() and len(i) < 19 for i in ids):
                raise ApplicationError("Choose pairs from the list to delete.")
            result = pairs_delete(pair_ids=[int(i) for i in ids])
            if request.POST.get("from_source") is not None:
                back += "?" + urlencode({"source": request.POST["from_source"]})
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if source is not None:
            back += "?" + urlencode({"source": source})
        return redirect(back)
    what = f"source “{source}”: " if source is not None else ""
    text = f"Deleted {what}{result.deleted} pair{pluralize(result.deleted)}."
    if result.drafts:
        names = ", ".join(f"“{n}”" for n in result.drafts)
        they = "It was" if result.deleted == 1 else "They were"
        text += f" {they} taken out of the draft round{pluralize(len(result.drafts))} {names}."
    messages.success(request, text)
    return redirect(back)


@researcher_required
def pair_import_view(request: HttpRequest) -> HttpResponse:
    """Step 1: upload. The file is checked (size, encoding, format) and kept for the preview step."""
    form = PairUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            check_upload_size(upload.size)
            content = upload.read()
            pairs_file_read(content=content, filename=upload.name, fmt=form.cleaned_data["format"] or None)
        except ApplicationError as exc:
            form.add_error("file", exc.message)
            return render(request, "pairs/import.html", {"form": form}, status=exc.status)
        old = request.session.get(SESSION_KEY)
        if old:
            staging.discard(old.get("token", ""))
        request.session[SESSION_KEY] = {
            "token": staging.stage(content),
            "filename": upload.name,
            "format": form.cleaned_data["format"] or None,
            "source": form.cleaned_data["source"].strip(),
        }
        return redirect(reverse("pairs:import-preview"))
    return render(request, "pairs/import.html", {"form": form}, status=400 if form.errors else 200)


@researcher_required
def pair_import_preview_view(request: HttpRequest) -> HttpResponse:
    """Step 2: the first rows, a column select per field, a dry run's errors; then confirm (import)."""
    staged = request.session.get(SESSION_KEY)
    content = staging.load(staged["token"]) if staged else None
    if content is None:
        messages.error(request, "Upload a file first (the previous upload has expired).")
        return redirect(reverse("pairs:import"))
    parsed = pairs_file_read(content=content, filename=staged["filename"], fmt=staged["format"])
    guessed = {k: v or "" for k, v in parsing.guess_mapping(parsed.columns).items()}
    form = PairMappingForm(request.POST or None, columns=parsed.columns, initial=guessed)
    mapping = guessed
    if request.method == "POST":
        if not form.is_valid():
            return _render_preview(request, staged, parsed, form, status=400)
        mapping = form.mapping()
    try:
        result = pairs_import_parsed(
            parsed=parsed,
            mapping=mapping,
            source=staged["source"],
            by=request.user,
            dry_run=request.POST.get("action") != "import",
        )
    except ApplicationError as exc:
        if request.method != "POST":  # the first look only asks for a mapping: a hint, not an error
            return _render_preview(request, staged, parsed, form, hint=exc.message)
        errors = exc.extra.get("errors", [])
        return _render_preview(request, staged, parsed, form, message=exc.message, errors=errors, status=exc.status)
    if not result.dry_run:
        staging.discard(staged["token"])
        del request.session[SESSION_KEY]
        n = result.created
        messages.success(request, f"Imported {n} pair{pluralize(n)} into source “{staged['source']}”.")
        for warning in result.warnings:
            messages.warning(request, warning.message + warning.rows_text())
        return redirect(f"{reverse('pairs:list')}?{urlencode({'source': staged['source']})}")
    return _render_preview(request, staged, parsed, form, result=result, errors=result.errors_as_dicts())


def _render_preview(
    request,
    staged,
    parsed,
    form,
    *,
    result=None,
    message: str = "",
    hint: str = "",
    errors=(),
    status: int = 200,
) -> HttpResponse:
    raw = [(row, [values.get(c, "") for c in parsed.columns]) for row, values in parsed.records[:RAW_PREVIEW_ROWS]]
    context = {
        "staged": staged,
        "parsed": parsed,
        "raw_rows": raw,
        "form": form,
        "result": result,
        "message": message,
        "hint": hint,
        "errors": list(errors),
    }
    return render(request, "pairs/import_preview.html", context, status=status)
