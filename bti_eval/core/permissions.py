"""Who may do what: researchers are staff users; judges are plain users with a Judge row."""

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


class IsJudge(BasePermission):
    message = "This endpoint is for judges; open your invite link first."

    def has_permission(self, request, view) -> bool:
        from bti_eval.judging.selectors import judge_for_user

        # Kept on the request, so that the view does not look the judge up a second time.
        request.judge = judge_for_user(user=request.user)
        return request.judge is not None


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
