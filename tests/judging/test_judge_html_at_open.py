"""Opening a round queues one rendering of every explanation's judge HTML, so that no judge's
request pays for a first render; an explanation it has not reached is rendered on first view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bti_eval.judging.blind import explanation_judge_html, round_pair_similarities
from bti_eval.judging.services import judge_html
from bti_eval.judging.services.judge_html import round_judge_html_render
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound, Explanation
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db


def test_opening_a_round_queues_the_rendering_after_commit(enqueued, django_capture_on_commit_callbacks):
    round = EvaluationRoundFactory(
        explained_pairs=2, methods=["bti", "tfidf-w2v"], status=EvaluationRound.Status.COMPUTING
    )
    with django_capture_on_commit_callbacks(execute=True):
        round_services.round_open(round=round)
        assert enqueued == []  # not before the commit
    assert enqueued == [("bti_eval.render_judge_html", [round.pk], "default")]


def test_a_broker_that_refuses_the_rendering_does_not_fail_the_opening(monkeypatch, django_capture_on_commit_callbacks):
    from bti_eval.judging import tasks

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.render_judge_html, "apply_async", refuse)
    round = EvaluationRoundFactory(explained_pairs=1, methods=["bti"], status=EvaluationRound.Status.COMPUTING)
    with django_capture_on_commit_callbacks(execute=True):
        round_services.round_open(round=round)
    round.refresh_from_db()
    assert round.status == EvaluationRound.Status.RATING


def test_rendering_stores_the_same_html_a_first_view_would(judge, rating_round, judge_client, monkeypatch):
    expected = {
        explanation.pk: explanation_judge_html(explanation=explanation)
        for explanation in Explanation.objects.filter(round=rating_round).select_related("pair")
    }
    assert round_judge_html_render(round_id=rating_round.pk) == len(expected)
    stored = dict(Explanation.objects.filter(round=rating_round).values_list("id", "judge_html"))
    assert stored == expected
    assert round_judge_html_render(round_id=rating_round.pk) == 0  # idempotent

    def no_render(**kwargs):
        raise AssertionError("a judge's request rendered")

    monkeypatch.setattr(judge_html, "explanation_judge_html", no_render)
    assignment = judge.assignments.get(position=0)
    page = judge_client.get(reverse("judging:rate-item", kwargs={"public_id": assignment.public_id}))
    assert page.status_code == 200 and expected[assignment.explanation_id] in page.content.decode()


def test_every_method_of_a_pair_shows_the_pairs_first_similarity(rating_round):
    first = Explanation.objects.filter(round=rating_round).order_by("id").first()
    others = Explanation.objects.filter(round=rating_round, pair_id=first.pair_id).exclude(pk=first.pk)
    for explanation in others:  # float noise between batches must not show as different numbers
        explanation.payload = {**explanation.payload, "similarity": 0.123456}
        explanation.save(update_fields=["payload"])
    round_judge_html_render(round_id=rating_round.pk)
    shown = round_pair_similarities(round_id=rating_round.pk)[first.pair_id]
    assert shown == first.payload["similarity"] != 0.123456
    for explanation in Explanation.objects.filter(pk__in=others.values("pk")).select_related("pair"):
        assert explanation.judge_html == explanation_judge_html(explanation=explanation)
