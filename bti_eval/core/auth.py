"""Session authentication for the judges' hot path: the user, their Judge row and its round in one query."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection

from bti_eval.core.db import fetch_one

JUDGE_BACKEND = "bti_eval.core.auth.JudgeAwareBackend"
# The round's columns a judge request reads; the rest of the round loads on first access.
JUDGE_ROUND_FIELDS = ["id", "status"]


@cache
def _user_sql() -> tuple[str, list[str], list[str]]:
    """The one statement (user LEFT JOIN judge LEFT JOIN round) and the user's and judge's attnames."""
    from bti_eval.judging.models import Judge
    from bti_eval.rounds.models import EvaluationRound

    user_fields = get_user_model()._meta.concrete_fields
    judge_fields = Judge._meta.concrete_fields
    quote = connection.ops.quote_name
    user_pk = quote(get_user_model()._meta.pk.column)
    columns = [f"u.{quote(f.column)}" for f in user_fields] + [f"j.{quote(f.column)}" for f in judge_fields]
    columns += [f"r.{quote(name)}" for name in JUDGE_ROUND_FIELDS]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(get_user_model()._meta.db_table)} u "
        f"LEFT JOIN {quote(Judge._meta.db_table)} j ON j.{quote(Judge.user.field.column)} = u.{user_pk} "
        f"LEFT JOIN {quote(EvaluationRound._meta.db_table)} r ON r.id = j.{quote(Judge.round.field.column)} "
        f"WHERE u.{user_pk} = %s"
    )
    return sql, [f.attname for f in user_fields], [f.attname for f in judge_fields]


class JudgeAwareBackend(ModelBackend):
    """``ModelBackend`` whose ``get_user`` also loads ``user.judge`` and ``judge.round`` in the same query.

    A user with no Judge row (a researcher) is the same user as ModelBackend returns, and reading
    ``user.judge`` raises ``RelatedObjectDoesNotExist`` without a query. Inactive users get None
    (``user_can_authenticate``), as with ModelBackend, so a revoked judge is signed out.
    """

    def get_user(self, user_id):
        from bti_eval.judging.models import Judge
        from bti_eval.rounds.models import EvaluationRound

        User = get_user_model()
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        sql, user_attnames, judge_attnames = _user_sql()
        row = fetch_one(sql, [pk])
        if row is None:
            return None
        n_user, n_judge = len(user_attnames), len(judge_attnames)
        user = User.from_db(connection.alias, user_attnames, row[:n_user])
        if not self.user_can_authenticate(user):
            return None
        judge = None
        if row[n_user] is not None:  # the judge's id: this user is a judge
            judge = Judge.from_db(connection.alias, judge_attnames, row[n_user : n_user + n_judge])
            judge.round = EvaluationRound.from_db(connection.alias, JUDGE_ROUND_FIELDS, row[n_user + n_judge :])
            Judge.user.field.set_cached_value(judge, user)
        User.judge.related.set_cached_value(user, judge)
        return user
