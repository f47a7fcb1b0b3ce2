"""Round selectors: the counts the round list shows, and the time left while computing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bti_eval.rounds.models import Explanation
from bti_eval.rounds.selectors import eta_text, round_list, round_progress
from tests.factories import EvaluationRoundFactory, ExplanationFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db


def test_round_list_counts_pairs_explanations_and_done_separately():
    busy, empty = EvaluationRoundFactory(), EvaluationRoundFactory()
    pairs = ParagraphPairFactory.create_batch(3)
    busy.pairs.set(pairs)
    for pair in pairs:
        ExplanationFactory(round=busy, pair=pair, method="bti")
        ExplanationFactory(round=busy, pair=pair, method="tfidf-w2v", status=Explanation.Status.PENDING)
    ExplanationFactory(round=busy, pair=pairs[0], method="bti-gradients", status=Explanation.Status.FAILED)
    with CaptureQueriesContext(connection) as queries:
        counts = {r.pk: (r.pair_count, r.explanation_count, r.done_count) for r in round_list()}
    assert counts == {busy.pk: (3, 7, 3), empty.pk: (0, 0, 0)}
    assert len(queries) == 1


def test_round_list_is_newest_first():
    first, second = EvaluationRoundFactory(), EvaluationRoundFactory()
    assert [r.pk for r in round_list()][:2] == [second.pk, first.pk]


def _computing_round(methods):
    round = EvaluationRoundFactory(status="computing", methods=methods)
    round.pairs.set([ParagraphPairFactory() for _ in range(4)])
    return round


def test_time_left_is_estimated_from_the_explanations_done_per_method(researcher_client):
    round = _computing_round(["bti", "integrated-gradients"])
    pairs = list(round.pairs.all())
    for pair in pairs:
        ExplanationFactory(round=round, pair=pair, method="integrated-gradients", status="pending", payload=None)
    for pair in pairs[2:]:
        ExplanationFactory(round=round, pair=pair, method="bti", status="pending", payload=None)
    progress = round_progress(round=round)
    assert (progress["eta_seconds"], progress["eta_text"]) == (None, "estimating…")  # nothing done yet

    started = timezone.now() - timedelta(seconds=120)
    for pair in pairs[:2]:  # 2 bti explanations done, 30 s of compute each, over 120 s of wall time
        ExplanationFactory(round=round, pair=pair, method="bti", compute_seconds=30.0, started_at=started)
    progress = round_progress(round=round)
    # left: 2 bti at 30 s and 4 integrated-gradients at the slowest known pace (30 s) = 180 compute
    # seconds; at 120 wall seconds per 60 compute seconds, 360 s.
    assert progress["eta_seconds"] == pytest.approx(360, abs=2) and progress["eta_text"] == "about 6 min"
    Explanation.objects.filter(round=round, method="integrated-gradients", pair=pairs[0]).update(
        status="done", compute_seconds=300.0
    )
    progress = round_progress(round=round)  # now integrated gradients has a pace of its own: 300 s
    assert progress["eta_seconds"] == pytest.approx((2 * 30 + 3 * 300) * 120 / 360, abs=2)

    page = researcher_client.get(reverse("rounds:detail", args=[round.pk])).content.decode()
    assert 'id="eta">about 5 min</span>' in page
    api = researcher_client.get(reverse("api-round-progress", args=[round.pk])).json()
    assert api["eta_text"] == "about 5 min" and api["eta_seconds"] == progress["eta_seconds"]

    Explanation.objects.filter(round=round).update(status="done", compute_seconds=1.0)
    assert round_progress(round=round)["eta_seconds"] is None  # nothing left


def test_no_estimate_outside_computing():
    round = EvaluationRoundFactory(status="rating", methods=["bti"])
    ExplanationFactory(round=round, method="bti")
    assert round_progress(round=round)["eta_text"] == ""
    assert [eta_text(s) for s in (None, 12, 90, 3600 + 5 * 60)] == [
        "estimating…",
        "less than a minute",
        "about 2 min",
        "about 1 h 05 min",
    ]
