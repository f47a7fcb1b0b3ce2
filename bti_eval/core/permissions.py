"""Who may do what: researchers are staff users; judges are plain users with a Judge row."""

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
        user = request.user
        return bool(user and user.is_authenticated and hasattr(user, "judge"))
