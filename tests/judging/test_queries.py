"""The judges' hand-written SQL (bti_eval.judging.queries) on both databases it runs on: the test
database (PostgreSQL) and the embedded default's SQLite, in a fresh interpreter on a scratch file.

``exercise`` runs every statement whose text depends on the database (the round's share lock, the
first rating's insert) and returns what a caller sees; both databases must see the same."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bti_eval.judging.services.invites import judge_invite
from tests.embedded_sqlite import run_on_embedded_sqlite


def exercise() -> dict:
    """Rate one assignment twice through ``queries`` (the second insert loses to the first)."""
    from bti_eval.judging import queries
    from bti_eval.judging.models import Judge, Rating, RatingChange
    from bti_eval.rounds.models import EvaluationRound
    from tests.factories import EvaluationRoundFactory

    judge, _ = judge_invite(
        round=EvaluationRoundFactory(
            explained_pairs=1, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.RATING
        ),
        name="Ann",
    )
    assignment = judge.assignments.order_by("position").first()
    rate = {"assignment_id": assignment.pk, "judge_id": judge.pk, "seconds": 2.5, "comment": "ok", "flagged": False}
    with transaction.atomic(), CaptureQueriesContext(connection) as statements:
        before = queries.rating_target_row(judge=judge, public_id=assignment.public_id)
        stranger = queries.rating_target_row(judge=judge, public_id="not-an-item")
        first = queries.rating_insert(score=4, **rate)
        second = queries.rating_insert(score=2, **rate)
        after = queries.rating_target_row(judge=judge, public_id=assignment.public_id)
    first.score = 5
    first.save(update_fields=["score"])  # a saved instance: an UPDATE, not a second INSERT
    try:
        queries.rating_target_row(judge=Judge(pk=judge.pk, round_id=10**9), public_id=assignment.public_id)
        missing_round = "no error"
    except EvaluationRound.DoesNotExist:
        missing_round = "DoesNotExist"
    # A crowd participant's time limit, read by the hot path's raw statement: aware, as the ORM reads it.
    from datetime import timedelta

    from django.utils import timezone

    Judge.objects.filter(pk=judge.pk).update(deadline_at=timezone.now() + timedelta(minutes=5))
    user, loaded = queries.user_with_judge(judge.user_id)
    orm = Judge.objects.select_related("user").get(pk=judge.pk)
    return {
        "datetimes_as_the_orm": [
            loaded.deadline_at == orm.deadline_at and timezone.is_aware(loaded.deadline_at),
            loaded.created_at == orm.created_at,
            user.date_joined == orm.user.date_joined,
            loaded.deadline_at > timezone.now(),  # comparable: no naive datetime
        ],
        "round_status_shared": queries.round_status_shared(round_id=judge.round_id),
        "before": list(before),
        "stranger": list(stranger),
        "assignment": assignment.pk,
        "position": assignment.position,
        "first_is_stored": first is not None and not first._state.adding and first.pk == after[3],
        "first": [first.score, first.seconds, first.comment, first.flagged, first.judge_id],
        "second": second,
        "ratings": list(Rating.objects.values_list("assignment_id", "score")),
        "history": list(RatingChange.objects.values_list("score", "seconds", "comment")),
        "share_lock": any("FOR SHARE" in query["sql"] for query in statements.captured_queries),
        "missing_round": missing_round,
    }


def _check(outcome: dict, *, share_lock: bool) -> None:
    assert outcome["before"] == ["rating", outcome["assignment"], outcome["position"], None, None]
    assert outcome["stranger"] == ["rating", None, None, None, None]
    assert outcome["first_is_stored"]
    assert outcome["first"][:4] == [5, 2.5, "ok", False]
    assert outcome["second"] is None  # the one-per-assignment constraint decided
    assert outcome["ratings"] == [[outcome["assignment"], 5]]
    assert outcome["history"] == [[4, 2.5, "ok"]]  # the first rating's history row, written once
    assert outcome["share_lock"] is share_lock
    assert outcome["missing_round"] == "DoesNotExist"
    assert outcome["datetimes_as_the_orm"] == [True, True, True, True]
    assert outcome["round_status_shared"] == "rating"


@pytest.mark.django_db
def test_the_vendor_specific_statements_on_the_test_database():
    outcome = json.loads(json.dumps(exercise()))  # the same shape as the SQLite run's
    _check(outcome, share_lock=connection.vendor == "postgresql")


SQLITE_SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from tests.judging.test_queries import exercise
print(json.dumps({"vendor": connection.vendor, **exercise()}))
"""


def test_the_vendor_specific_statements_on_the_embedded_sqlite(tmp_path):
    outcome = run_on_embedded_sqlite(SQLITE_SCRIPT, tmp_path, timeout=300)
    assert outcome.pop("vendor") == "sqlite"
    _check(outcome, share_lock=False)
