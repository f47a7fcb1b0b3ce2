"""Round selectors: the counts the round list shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bti_eval.rounds.models import Explanation
from bti_eval.rounds.selectors import round_list
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
