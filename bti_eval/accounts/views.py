"""The researcher's API token page: make a token (its key shown once), list and revoke tokens."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from bti_eval.accounts import selectors, services
from bti_eval.accounts.forms import ApiTokenForm
from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.permissions import researcher_required

NEW_TOKEN = "accounts_new_api_token"


@never_cache
@researcher_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """GET: the researcher's tokens and a form; POST makes a token, whose key the next GET shows once
    (kept in the session until then, never stored in the database)."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, key = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ApplicationError as exc:
                form.add_error("name", exc.message)
                status = exc.status
            else:
                request.session[NEW_TOKEN] = {"id": token.pk, "name": token.name, "key": key}
                return redirect("accounts:tokens")
        else:
            status = 400
    context = {
        "form": form,
        "new_token": request.session.pop(NEW_TOKEN, None),
        "tokens": selectors.api_tokens_of(user=request.user),
    }
    return render(request, "accounts/tokens.html", context, status=status)


@researcher_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.api_token_revoke(user=request.user, token_id=token_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The token “{token.name}” ({token.prefix}…) was revoked; it no longer works.")
    return redirect("accounts:tokens")


@researcher_required
@require_POST
def legacy_token_revoke(request: HttpRequest) -> HttpResponse:
    if services.legacy_token_revoke(user=request.user):
        messages.success(request, "The token made by manage.py drf_create_token was revoked; it no longer works.")
    else:
        messages.error(request, "You have no token made by manage.py drf_create_token.")
    return redirect("accounts:tokens")
