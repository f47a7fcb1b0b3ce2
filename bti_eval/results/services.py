"""Results services: running the automatic metrics of a round (now, or as a Celery task)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from datetime import datetime
from time import perf_counter
from typing import Any

from django.db import transaction
from django.utils import timezone

from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import auto_metrics
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds.models import EvaluationRound, Explanation

logger = logging.getLogger(__name__)
AStatus = AutoEvaluation.Status


def _clean(metrics: Sequence[str] | None, options: dict[str, Any] | None) -> tuple[list[str], dict[str, Any]]:
    metrics = list(metrics or auto_metrics.METRICS)
    unknown = [m for m in metrics if m not in auto_metrics.METRICS]
    if unknown:
        raise ApplicationError(f"Unknown metric(s) {', '.join(unknown)}: use {', '.join(auto_metrics.METRICS)}.")
    merged = {**auto_metrics.DEFAULT_OPTIONS, **(options or {})}
    for name in ("faithfulness_pairs", "sanity_pairs"):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            raise ApplicationError(f"{name} must be a whole number from 1 to 100000.")
    ks = merged["ks"]
    if not isinstance(ks, list) or not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise ApplicationError("ks must be a list of word counts of 1 or more, e.g. [1, 2, 3, 4, 5].")
    return metrics, merged


def _require_explanations(round: EvaluationRound) -> None:
    done = Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
    if not done.exists():
        raise ApplicationError(
            f"Round {round.name!r} has no computed explanations yet; launch it and wait for the workers.",
            status=409,
        )


def auto_evaluation_request(
    *,
    round: EvaluationRound,
    metrics: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    check_broker: bool = True,
) -> AutoEvaluation:
    """Mark the round's automatic metrics PENDING and queue ``bti_eval.evaluate_auto`` after commit
    (on the ``explain`` queue, where the model lives). If the broker refuses, the row is FAILED
    with what to do (and, when ``check_broker``, ApplicationError 503 before anything is written)."""
    metrics, options = _clean(metrics, options)
    if check_broker:
        _require_explanations(round)
        from bti_eval.rounds.queueing import broker_check

        broker_check()
    with transaction.atomic():
        now = timezone.now()
        row = _reset(round, status=AStatus.PENDING, metrics=metrics, options=options, started_at=None, requested_at=now)
        row_id = row.pk
        transaction.on_commit(lambda: _enqueue(row_id, round.pk))
    return row


def _reset(
    round: EvaluationRound,
    *,
    status: str,
    metrics: list[str],
    options: dict[str, Any],
    started_at: datetime | None,
    requested_at: datetime | None = None,
) -> AutoEvaluation:
    """The round's one AutoEvaluation row, locked (created if new), set to ``status`` with ``metrics``
    and ``options``, no error, not finished, started at ``started_at``; ``requested_at`` when given.
    Call inside a transaction."""
    row, _ = AutoEvaluation.objects.select_for_update().get_or_create(round=round)
    row.status, row.metrics, row.options, row.error = status, metrics, options, ""
    row.started_at, row.finished_at = started_at, None
    if requested_at is not None:
        row.requested_at = requested_at
    row.save()
    return row


def _enqueue(row_id: int, round_id: int) -> None:
    from workers.tasks import evaluate_auto

    try:
        evaluate_auto.apply_async(args=[round_id], queue="explain")
    except Exception as exc:  # the broker blinked after the commit: say so on the row, do not crash the caller
        logger.exception("could not queue evaluate_auto for round %s", round_id)
        AutoEvaluation.objects.filter(pk=row_id).update(
            status=AStatus.FAILED,
            error=f"Could not queue the task ({type(exc).__name__}: {exc}). Run "
            f"`python manage.py evaluate_auto {round_id}` or request it again.",
            finished_at=timezone.now(),
        )


def auto_evaluation_run(
    *,
    round: EvaluationRound,
    metrics: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    encoder: Any = None,
) -> AutoEvaluation:
    """Compute the automatic metrics now and store them (one row per round; a rerun overwrites).

    ``metrics``/``options`` default to those of a pending request, else to all metrics with
    DEFAULT_OPTIONS. An explainers error (e.g. the model cannot load) leaves the row FAILED with
    its message and raises ApplicationError.
    """
    from explainers.errors import ExplainerError

    _require_explanations(round)
    pending = AutoEvaluation.objects.filter(round=round).first()
    if metrics is None and options is None and pending is not None and pending.status == AStatus.PENDING:
        metrics, options = pending.metrics, pending.options
    metrics, options = _clean(metrics, options)
    with transaction.atomic():
        row = _reset(round, status=AStatus.RUNNING, metrics=metrics, options=options, started_at=timezone.now())
    start = perf_counter()
    try:
        results = auto_metrics.compute(round=round, metrics=metrics, options=options, encoder=encoder)
    except ExplainerError as exc:
        _finish(row, status=AStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise ApplicationError(f"The automatic metrics failed: {exc}") from exc
    except Exception:
        _finish(row, status=AStatus.FAILED, error=traceback.format_exc(limit=3)[-5000:])
        raise
    results["seconds"] = perf_counter() - start
    _finish(row, status=AStatus.DONE, results=results)
    return row


def _finish(row: AutoEvaluation, *, status: str, error: str = "", results: dict | None = None) -> None:
    row.status, row.error, row.results, row.finished_at = status, error, results, timezone.now()
    row.save(update_fields=["status", "error", "results", "finished_at"])
