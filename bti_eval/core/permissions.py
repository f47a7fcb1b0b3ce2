"""Who may do what: researchers are staff users; judges are plain users with a Judge row (their
permission, ``judging.permissions.IsJudge``, lives with the judging app that knows them)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


def is_researcher(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class IsResearcher(BasePermission):
    message = "This endpoint is for researchers only."

    def has_permission(self, request, view) -> bool:
        return is_researcher(request.user)


def researcher_required(view):
    """Decorator for researcher HTML pages: anonymous users go to the login page, others get 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_researcher(request.user):
            raise PermissionDenied("This page is for researchers only.")
        return view(request, *args, **kwargs)

    return wrapped
