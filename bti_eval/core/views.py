"""The site root: researchers land on their rounds, everyone else on the login page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from bti_eval.core.permissions import is_researcher


def home(request: HttpRequest) -> HttpResponse:
    if is_researcher(request.user):
        return redirect(reverse("rounds:list"))
    return redirect(reverse("login"))
