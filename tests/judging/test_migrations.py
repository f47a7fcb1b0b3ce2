"""Migration 0002 repeats each rating's judge (Rating.judge) from its assignment."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("judging", "0001_initial")]
AFTER = [("judging", "0002_rating_judge")]


@pytest.mark.django_db(transaction=True)
def test_existing_ratings_get_their_assignments_judge():
    executor = MigrationExecutor(connection)
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "judging"]
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(others + BEFORE).apps  # judging before; every other app as it is
    User = apps.get_model("auth", "User")
    Round = apps.get_model("rounds", "EvaluationRound")
    Pair = apps.get_model("pairs", "ParagraphPair")
    Explanation = apps.get_model("rounds", "Explanation")
    Judge = apps.get_model("judging", "Judge")
    Assignment = apps.get_model("judging", "Assignment")
    Rating = apps.get_model("judging", "Rating")
    round = Round.objects.create(name="old", status="rating")
    pair = Pair.objects.create(source="t", external_id="p", text_a="a", text_b="b")
    explanation = Explanation.objects.create(round=round, pair=pair, method="bti", status="done", payload={})
    ratings = {}
    for i in range(3):
        judge = Judge.objects.create(round=round, user=User.objects.create(username=f"j{i}"), seed=i)
        assignment = Assignment.objects.create(judge=judge, explanation=explanation, position=0, public_id=f"x{i}")
        ratings[Rating.objects.create(assignment=assignment, score=3).pk] = judge.pk

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    Rating = executor.loader.project_state(others + AFTER).apps.get_model("judging", "Rating")
    assert dict(Rating.objects.values_list("id", "judge_id")) == ratings
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
