"""Round services: create, launch (enqueue on commit, broker down), retry/drop failures, open, close."""

from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from bti_eval.core.exceptions import ApplicationError
from bti_eval.judging.models import Assignment
from bti_eval.rounds import services
from bti_eval.rounds.constants import CHUNK_TIME_LIMIT, STALE_RUNNING_AFTER
from bti_eval.rounds.models import EvaluationRound, Explanation, default_methods
from bti_eval.rounds.selectors import round_progress
from tests.factories import EvaluationRoundFactory, ExplanationFactory, JudgeFactory, ParagraphPairFactory

pytestmark = pytest.mark.django_db
Status = EvaluationRound.Status


@pytest.fixture
def draft(researcher):
    pairs = ParagraphPairFactory.create_batch(5)
    return services.round_create(name="r1", pairs=pairs, methods=["bti", "tfidf-w2v"], by=researcher)


# --- create ----------------------------------------------------------------------------------


def test_create_defaults_to_the_papers_seven_methods(researcher):
    pairs = ParagraphPairFactory.create_batch(2)
    round = services.round_create(name=" study ", pairs=[p.pk for p in pairs], by=researcher)
    assert round.methods == default_methods() and len(round.methods) == 7
    assert (round.name, round.status, round.model, round.top_k) == ("study", Status.DRAFT, "", 2)
    assert round.pairs_shown == 2  # judges see at most 2 rows of matched words (the paper's Fig. 3: 2-4)
    assert set(round.pairs.all()) == set(pairs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": ["bti", "lime"]}, "Unknown method.*lime.*Available: bti"),
        ({"methods": []}, "at least one method"),
        ({"model": "/nonexistent/model"}, "does not exist on the server"),
        ({"top_k": 0}, "top_k must be between"),
        ({"pairs_shown": 0}, "pairs_shown .* between 1 and 50"),
        ({"pairs_shown": 51}, "pairs_shown .* between 1 and 50"),
        ({"pairs_shown": True}, "pairs_shown"),
        ({"name": "  "}, "Give the round a name"),
        ({"pairs": []}, "at least one pair"),
        ({"pairs": [999999]}, "Unknown pair id"),
        ({"dtype": "int8"}, "Unknown dtype 'int8': use fp32, bf16, fp16"),
        ({"pooling": "weighted"}, "Unknown pooling 'weighted': use mean, cls, max, mean-sqrt-len"),
    ],
)
def test_create_rejects_bad_input_clearly(researcher, kwargs, message):
    args = {"name": "r", "pairs": ParagraphPairFactory.create_batch(1), "by": researcher, **kwargs}
    with pytest.raises(ApplicationError, match=message):
        services.round_create(**args)
    assert not EvaluationRound.objects.exists()


def test_create_accepts_a_model_directory(researcher, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    round = services.round_create(name="r", pairs=ParagraphPairFactory.create_batch(1), model=str(tmp_path))
    assert round.model == str(tmp_path)
    with pytest.raises(ApplicationError, match="no config.json"):
        services.round_create(name="r", pairs=ParagraphPairFactory.create_batch(1), model=str(tmp_path / ".."))


# --- launch ----------------------------------------------------------------------------------


def test_launch_creates_pending_rows_and_enqueues_one_method_chunks_on_commit(
    draft, published, settings, django_capture_on_commit_callbacks
):
    settings.BTI_CHUNK_SIZE = 2
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        round = services.round_launch(round=draft)
    assert len(published) == 0  # nothing is sent before the commit
    assert round.status == Status.COMPUTING and round.launched_at is not None
    rows = Explanation.objects.filter(round=round)
    assert rows.count() == 10 and set(rows.values_list("status", flat=True)) == {Explanation.Status.PENDING}

    for callback in callbacks:
        callback()
    chunks = published.chunks()
    assert [len(c) for c in chunks] == [2, 2, 1, 2, 2, 1]
    assert sorted(i for c in chunks for i in c) == sorted(rows.values_list("id", flat=True))
    for chunk in chunks:  # each chunk is one method of one round
        assert rows.filter(pk__in=chunk).values("method").distinct().count() == 1
    assert rows.get(pk=chunks[0][0]).method == "bti"  # the round's method order


def test_a_costly_method_is_launched_in_its_own_smaller_chunks(published, settings, django_capture_on_commit_callbacks):
    """integrated-jacobians takes minutes per pair on a CPU: its chunks hold at most its registry
    pairs_per_chunk (4) pairs, so that a chunk ends within the task's time limit; other methods keep
    the platform's chunk size."""
    from explainers import get_method

    settings.BTI_CHUNK_SIZE = 16
    pairs = ParagraphPairFactory.create_batch(10)
    round = services.round_create(name="ij", pairs=pairs, methods=["bti", "integrated-jacobians"])
    with django_capture_on_commit_callbacks(execute=True):
        services.round_launch(round=round)
    rows = Explanation.objects.filter(round=round)
    sizes = {m: [len(c) for c in published.chunks() if rows.get(pk=c[0]).method == m] for m in round.methods}
    assert get_method("integrated-jacobians").pairs_per_chunk == 4
    assert sizes == {"bti": [10], "integrated-jacobians": [4, 4, 2]}


def test_launch_twice_is_a_409(draft, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.round_launch(round=draft)
    with pytest.raises(ApplicationError, match="only a draft round") as info:
        services.round_launch(round=draft)
    assert info.value.status == 409
    assert Explanation.objects.count() == 10


def test_launch_with_the_broker_down_leaves_a_draft(draft, published, monkeypatch):
    from workers.celery import app

    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:9/0")  # nothing listens there
    with pytest.raises(ApplicationError, match="broker is unreachable") as info:
        services.round_launch(round=draft)
    assert info.value.status == 503
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.launched_at is None
    assert not Explanation.objects.exists() and len(published) == 0


def test_publish_failure_after_commit_reverts_the_round_to_draft(draft, django_capture_on_commit_callbacks):
    with mock.patch(
        "bti_eval.rounds.tasks.explain_chunk.apply_async", side_effect=KombuOperationalError("connection refused")
    ):
        with pytest.raises(ApplicationError, match="draft again") as info:
            with django_capture_on_commit_callbacks(execute=True):
                services.round_launch(round=draft)
    assert info.value.status == 503
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and not Explanation.objects.exists()


# --- retry / drop ----------------------------------------------------------------------------


def computing_round(statuses: list[str], methods=("bti",)) -> EvaluationRound:
    round = EvaluationRoundFactory(status=Status.COMPUTING, methods=list(methods))
    for status in statuses:
        pair = ParagraphPairFactory()
        round.pairs.add(pair)
        for method in methods:
            ExplanationFactory(
                round=round,
                pair=pair,
                method=method,
                status=status,
                payload=None if status != Explanation.Status.DONE else {"method": method},
                error="boom" if status == Explanation.Status.FAILED else "",
            )
    return round


def test_retry_failed_requeues_failed_and_stale_running_rows(published, django_capture_on_commit_callbacks):
    round = computing_round(
        [
            Explanation.Status.DONE,
            Explanation.Status.FAILED,
            Explanation.Status.FAILED,
            Explanation.Status.RUNNING,
            Explanation.Status.RUNNING,
        ]
    )
    stale, fresh = Explanation.objects.filter(status=Explanation.Status.RUNNING).order_by("id")
    Explanation.objects.filter(pk=stale.pk).update(started_at=timezone.now() - STALE_RUNNING_AFTER * 2)
    Explanation.objects.filter(pk=fresh.pk).update(started_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        assert services.explanations_retry_failed(round=round) == 3
    requeued = {i for c in published.chunks() for i in c}
    assert requeued == set(Explanation.objects.filter(status=Explanation.Status.PENDING).values_list("id", flat=True))
    assert stale.pk in requeued and fresh.pk not in requeued
    assert not Explanation.objects.filter(status=Explanation.Status.FAILED).exists()
    assert STALE_RUNNING_AFTER.total_seconds() > CHUNK_TIME_LIMIT


def test_retry_without_failures_is_409(published):
    with pytest.raises(ApplicationError, match="no failed explanations") as info:
        services.explanations_retry_failed(round=computing_round([Explanation.Status.DONE, Explanation.Status.PENDING]))
    assert info.value.status == 409


def test_drop_failed_removes_them_and_opens_when_the_rest_is_done():
    round = computing_round([Explanation.Status.DONE, Explanation.Status.DONE, Explanation.Status.FAILED])
    judge = JudgeFactory(round=round)
    result = services.explanations_drop_failed(round=round)
    assert result == {"dropped": 1, "opened": True}
    assert round.status == Status.RATING
    assert Assignment.objects.filter(judge=judge).count() == 2


def test_drop_failed_keeps_computing_while_work_is_pending():
    round = computing_round([Explanation.Status.DONE, Explanation.Status.PENDING, Explanation.Status.FAILED])
    assert services.explanations_drop_failed(round=round) == {"dropped": 1, "opened": False}
    assert round.status == Status.COMPUTING


def test_drop_refuses_to_leave_nothing():
    round = computing_round([Explanation.Status.FAILED, Explanation.Status.FAILED])
    with pytest.raises(ApplicationError, match="Every explanation of this round failed"):
        services.explanations_drop_failed(round=round)
    assert Explanation.objects.count() == 2


# --- open / close ----------------------------------------------------------------------------


def test_open_refuses_while_explanations_are_missing():
    round = computing_round([Explanation.Status.DONE, Explanation.Status.FAILED])
    with pytest.raises(ApplicationError, match="1 explanation.*not done") as info:
        services.round_open(round=round)
    assert info.value.status == 409
    round.refresh_from_db()
    assert round.status == Status.COMPUTING


def test_open_builds_every_invited_judges_assignments():
    round = computing_round([Explanation.Status.DONE] * 3, methods=("bti", "tfidf-w2v"))
    judges = JudgeFactory.create_batch(2, round=round)
    services.round_open(round=round)
    assert round.status == Status.RATING and round.opened_at is not None
    for judge in judges:
        assert Assignment.objects.filter(judge=judge).count() == 6
    with pytest.raises(ApplicationError, match="only a computing round") as info:
        services.round_open(round=round)
    assert info.value.status == 409


def test_open_if_complete_opens_once():
    round = computing_round([Explanation.Status.DONE, Explanation.Status.DONE])
    JudgeFactory(round=round)
    assert services.round_open_if_complete(round_id=round.pk) is True
    assert services.round_open_if_complete(round_id=round.pk) is False
    assert Assignment.objects.count() == 2


def test_open_if_complete_waits_for_pending_rows():
    round = computing_round([Explanation.Status.DONE, Explanation.Status.PENDING])
    assert services.round_open_if_complete(round_id=round.pk) is False


def test_close_freezes_a_rating_round_only():
    round = computing_round([Explanation.Status.DONE])
    with pytest.raises(ApplicationError, match="only a rating round") as info:
        services.round_close(round=round)
    assert info.value.status == 409
    services.round_open(round=round)
    services.round_close(round=round)
    assert round.status == Status.CLOSED and round.closed_at is not None


# --- progress --------------------------------------------------------------------------------


def test_progress_counts_per_method_and_lists_failures():
    round = computing_round(
        [Explanation.Status.DONE, Explanation.Status.FAILED, Explanation.Status.PENDING], methods=("bti", "tfidf-w2v")
    )
    failed = Explanation.objects.filter(status=Explanation.Status.FAILED, method="bti").select_related("pair").get()
    progress = round_progress(round=round)
    assert (progress["total"], progress["done"], progress["failed"], progress["pending"]) == (6, 2, 2, 2)
    assert progress["per_method"]["bti"] == {"total": 3, "done": 1, "failed": 1, "pending": 1, "running": 0}
    assert list(progress["per_method"]) == ["bti", "tfidf-w2v"]
    assert progress["failures"][0] == {
        "explanation_id": failed.pk,
        "pair": failed.pair.external_id,
        "pair_id": failed.pair_id,
        "method": "bti",
        "error": "boom",
        "attempts": 0,
    }
    assert progress["can_open"] is False


def test_progress_of_a_draft_is_empty(draft):
    progress = round_progress(round=draft)
    assert progress["total"] == 0 and progress["per_method"]["bti"]["total"] == 0


def test_create_keeps_the_encoder_options(researcher):
    pairs = ParagraphPairFactory.create_batch(1)
    default = services.round_create(name="r", pairs=pairs, by=researcher)
    assert (default.dtype, default.pooling) == ("fp32", "")  # fp32, the model's own pooling
    round = services.round_create(name="r2", pairs=pairs, by=researcher, dtype="bf16", pooling="cls")
    round.refresh_from_db()
    assert (round.dtype, round.pooling) == ("bf16", "cls")
    with pytest.raises(ApplicationError) as error:
        services.round_create(name="r3", pairs=pairs, dtype="fp8")
    assert error.value.extra == {"field": "dtype"}
