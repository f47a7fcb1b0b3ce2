"""Session authentication for the judges' hot path: the user, their Judge row and its round in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from bti_eval.judging.queries import user_with_judge

JUDGE_BACKEND = "bti_eval.judging.auth.JudgeAwareBackend"


class JudgeAwareBackend(ModelBackend):
    """``ModelBackend`` whose ``get_user`` also loads ``user.judge`` and ``judge.round`` in the same query.

    A user with no Judge row (a researcher) is the same user as ModelBackend returns, and reading
    ``user.judge`` raises ``RelatedObjectDoesNotExist`` without a query. Inactive users get None
    (``user_can_authenticate``), as with ModelBackend, so a revoked judge is signed out.
    """

    def get_user(self, user_id):
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = user_with_judge(pk)
        if found is None or not self.user_can_authenticate(found[0]):
            return None
        return found[0]
