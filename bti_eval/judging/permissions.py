"""The judges' API permission: a signed-in user with an active Judge row."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from bti_eval.judging.selectors import judge_for_user


class IsJudge(BasePermission):
    message = "This endpoint is for judges; open your invite link first."

    def has_permission(self, request, view) -> bool:
        # Kept on the request, so that the view does not look the judge up a second time.
        request.judge = judge_for_user(user=request.user)
        return request.judge is not None
