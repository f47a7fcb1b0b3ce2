"""Closing a round queues its report, so that the results page and every export read it from the
results cache instead of computing it while the researcher waits."""

from __future__ import annotations

import pytest

from bti_eval.results import report as report_module
from bti_eval.results.report import CLOSED_CACHE_SECONDS, round_report
from bti_eval.results.services import round_report_prepare
from bti_eval.results.tasks import report_compute
from bti_eval.rounds import services as round_services
from bti_eval.rounds.models import EvaluationRound
from tests.factories import EvaluationRoundFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated_round():
    return EvaluationRoundFactory(
        explained_pairs=4, methods=["bti", "tfidf-w2v"], judges=3, status=EvaluationRound.Status.RATING
    )


def test_closing_a_round_queues_its_report_after_commit(rated_round, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        round_services.round_close(round=rated_round)
        assert enqueued == []  # not before the commit
    assert enqueued == [("bti_eval.results_report_compute", [rated_round.pk], "default")]


def test_a_broker_that_refuses_the_report_does_not_fail_the_closing(
    rated_round, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(report_compute, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        round_services.round_close(round=rated_round)
    rated_round.refresh_from_db()
    assert rated_round.status == EvaluationRound.Status.CLOSED


def test_the_prepared_report_is_what_the_page_and_exports_read_and_it_lasts(rated_round, monkeypatch):
    kept: dict[str, int | None] = {}
    cache = report_module.results_cache()
    real_set = cache.set

    def recording_set(key, value, timeout=None, *args, **kwargs):
        kept[key] = timeout
        return real_set(key, value, timeout, *args, **kwargs)

    monkeypatch.setattr(cache, "set", recording_set)
    round_services.round_close(round=rated_round)
    assert report_compute.run(rated_round.pk) is True
    assert list(kept.values()) == [CLOSED_CACHE_SECONDS]  # one report (nobody is flagged), kept long

    def no_compute(*args, **kwargs):
        raise AssertionError("the report was computed again")

    monkeypatch.setattr(report_module, "_compute", no_compute)
    assert round_report(round=rated_round)["methods"]  # read from the cache


def test_only_a_closed_round_is_prepared(rated_round):
    assert round_report_prepare(round_id=rated_round.pk) is False  # still rating: ratings may change
    assert round_report_prepare(round_id=987_654) is False
