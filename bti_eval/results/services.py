"""Results services: the automatic-metrics jobs of a round (queued in chunks, or run now)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from functools import partial
from time import perf_counter
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bti_eval.core import jobs
from bti_eval.core.exceptions import ApplicationError
from bti_eval.results import auto_metrics
from bti_eval.results.models import AutoEvaluation
from bti_eval.rounds.models import EvaluationRound, Explanation

logger = logging.getLogger(__name__)


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
    if round.status == EvaluationRound.Status.COMPUTING:
        raise ApplicationError(
            f"Round {round.name!r} is still computing its explanations; the automatic metrics can be computed "
            "once it opens for rating (they would otherwise take the workers from the explanations).",
            status=409,
        )
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
) -> tuple[AutoEvaluation, bool]:
    """Queue a new automatic-metrics job of the round: a PENDING row whose chunks
    ``bti_eval.evaluate_auto_chunk`` computes one after the other on the ``metrics`` queue (the first
    is queued after commit). Returns ``(job, created)``.

    One job per round at a time: while a job is pending or running, asking again queues nothing and
    returns that job with ``created`` False (the API answers 200 with it, 202 for a new job). The
    round row is locked while checking, and the partial unique constraint
    ``auto_evaluation_one_active_per_round`` backs the check, so two concurrent requests make one job.
    Refused (409) while the round is computing, or before it has any explanation. If the broker
    refuses, the row is FAILED with what to do (and, when ``check_broker``, ApplicationError 503
    before anything is written).
    """
    metrics, options = _clean(metrics, options)
    if check_broker:
        _require_explanations(round)
        active = _active(round)
        if active is not None:
            return active, False
    try:
        with transaction.atomic():
            EvaluationRound.objects.select_for_update().filter(pk=round.pk).first()  # serialise requests
            active = _active(round)
            if active is not None:
                return active, False
            row = _job_create(round=round, metrics=metrics, options=options, status=AutoEvaluation.Status.PENDING)
            _enqueue(row.pk, 0, check_broker=check_broker)
    except IntegrityError:  # another request created the job between our check and our insert
        active = _active(round)
        if active is None:
            raise
        return active, False
    return row, True


def _active(round: EvaluationRound) -> AutoEvaluation | None:
    return AutoEvaluation.objects.filter(round=round, status__in=AutoEvaluation.ACTIVE).first()


def _already_active(round: EvaluationRound) -> ApplicationError:
    """The 409 of a second job while one of the round is pending or running."""
    return ApplicationError(
        f"An automatic-metrics job of round {round.name!r} is already queued or running; wait for it.", status=409
    )


def _job_create(
    *, round: EvaluationRound, metrics: list[str], options: dict[str, Any], status: str, **fields: Any
) -> AutoEvaluation:
    """A new job row of the round, planned in chunks for the round's methods and ``metrics``."""
    return AutoEvaluation.objects.create(
        round=round,
        status=status,
        metrics=metrics,
        options=options,
        plan=auto_metrics.job_plan(methods=round.methods, metrics=metrics),
        **fields,
    )


def _enqueue(job_id: int, index: int, *, check_broker: bool = False) -> None:
    """Queue chunk ``index`` of the job after commit; a broker that refuses fails the job."""
    from bti_eval.results.tasks import evaluate_auto_chunk

    jobs.enqueue(
        evaluate_auto_chunk, [job_id, index], on_refused=partial(_enqueue_refused, job_id), check_broker=check_broker
    )


def _enqueue_refused(job_id: int, message: str) -> None:
    auto_evaluation_fail(
        job_id=job_id,
        error=f"{message} Request the automatic metrics again, or run `python manage.py evaluate_auto ROUND`.",
    )


def auto_evaluation_chunk_run(
    *, job_id: int, index: int, encoder: Any = None, worker: str = "", queue_next: bool = True
) -> str:
    """Compute chunk ``index`` of job ``job_id`` and store it; queue the next chunk after commit
    (``queue_next``), or mark the job DONE after the last. Returns the job's status.

    Idempotent (tasks acknowledge late): a chunk that is not the job's next one (already computed,
    by a redelivered message) or of a job no longer active does nothing. ``worker`` is recorded on
    the job while it runs (see ``auto_evaluations_recover_lost``). An explainers error fails the job
    with its message; other errors are raised (the task retries transient ones, then fails the job).
    """
    from explainers.errors import ExplainerError

    job = AutoEvaluation.objects.select_related("round").filter(pk=job_id).first()
    if job is None:
        return "gone"
    if job.status not in AutoEvaluation.ACTIVE or job.chunks_done != index or index >= job.chunks_total:
        return job.status
    running = AutoEvaluation.objects.filter(pk=job_id, status__in=AutoEvaluation.ACTIVE)
    running.filter(started_at__isnull=True).update(started_at=timezone.now())
    running.update(status=AutoEvaluation.Status.RUNNING, worker=worker[:255])
    metric, method = job.plan[index]
    start = perf_counter()
    try:
        chunk = auto_metrics.compute_chunk(
            round=job.round, metric=metric, method=method, options=job.options, encoder=encoder
        )
    except ExplainerError as exc:
        auto_evaluation_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        return AutoEvaluation.Status.FAILED
    seconds = perf_counter() - start
    with transaction.atomic():
        locked = AutoEvaluation.objects.select_for_update().filter(pk=job_id).first()
        if locked is None or locked.status not in AutoEvaluation.ACTIVE or locked.chunks_done != index:
            return locked.status if locked else "gone"
        results = auto_metrics.merge_chunk(locked.results or {"methods": {}, "notes": {}}, chunk)
        results["seconds"] = float(results.get("seconds", 0.0)) + seconds
        locked.results, locked.chunks_done = results, index + 1
        if locked.chunks_done >= locked.chunks_total:
            locked.status, locked.finished_at = AutoEvaluation.Status.DONE, timezone.now()
        elif queue_next:
            _enqueue(job_id, index + 1)
        locked.save(update_fields=["results", "chunks_done", "status", "finished_at"])
        return locked.status


def auto_evaluation_fail(*, job_id: int, error: str) -> int:
    """Mark an active job FAILED with ``error`` (its chunk task failed for good); returns 0 or 1."""
    return jobs.job_mark_failed(AutoEvaluation, job_id, error=error)


def auto_evaluations_recover_lost(*, is_gone: Callable[[str], bool]) -> int:
    """Queue again the next chunk of every RUNNING job whose recorded worker ``is_gone`` (killed
    between or in the middle of a chunk: the filesystem broker never redelivers its message, Redis
    only after the visibility timeout). A chunk that runs twice stores once (``chunks_done``).
    Returns how many jobs were queued again."""
    lost = [
        (job.pk, job.chunks_done)
        for job in AutoEvaluation.objects.filter(status=AutoEvaluation.Status.RUNNING).only(
            "pk", "chunks_done", "worker"
        )
        if job.worker and is_gone(job.worker)
    ]
    for job_id, index in lost:
        logger.warning("automatic-metrics job %s lost its worker; queueing chunk %s again", job_id, index)
        _enqueue(job_id, index)
    return len(lost)


def auto_evaluation_run(
    *,
    round: EvaluationRound,
    metrics: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    encoder: Any = None,
) -> AutoEvaluation:
    """Compute the automatic metrics now, every chunk in this process, and store them as a new DONE
    job of the round (``manage.py evaluate_auto``). ``metrics``/``options`` default to all metrics
    with DEFAULT_OPTIONS. Refused (409) while a queued job of the round is pending or running. An
    explainers error (e.g. the model cannot load) leaves the job FAILED with its message and raises
    ApplicationError.
    """
    _require_explanations(round)
    metrics, options = _clean(metrics, options)
    try:
        with transaction.atomic():
            EvaluationRound.objects.select_for_update().filter(pk=round.pk).first()
            if _active(round) is not None:
                raise _already_active(round)
            row = _job_create(
                round=round,
                metrics=metrics,
                options=options,
                status=AutoEvaluation.Status.RUNNING,
                started_at=timezone.now(),
            )
    except IntegrityError as exc:  # another request created a job between our check and our insert
        raise _already_active(round) from exc
    try:
        for index in range(row.chunks_total):
            if (
                auto_evaluation_chunk_run(job_id=row.pk, index=index, encoder=encoder, queue_next=False)
                != AutoEvaluation.Status.RUNNING
            ):
                break
    except Exception:
        auto_evaluation_fail(job_id=row.pk, error=traceback.format_exc(limit=3)[-jobs.ERROR_LENGTH :])
        raise
    if row.chunks_total == 0:
        AutoEvaluation.objects.filter(pk=row.pk).update(
            status=AutoEvaluation.Status.DONE, finished_at=timezone.now(), results={}
        )
    row.refresh_from_db()
    if row.status == AutoEvaluation.Status.FAILED:
        raise ApplicationError(f"The automatic metrics failed: {row.error}")
    return row


def round_report_prepare(*, round_id: int) -> bool:
    """Compute a closed round's report into the results cache (``report.round_report``), as the
    results page and the exports will ask for it: all judges (the usual view), and without the
    flagged ones when any is flagged. False (nothing done) when the round is gone or not closed."""
    from bti_eval.results.report import round_report

    round = EvaluationRound.objects.filter(pk=round_id, status=EvaluationRound.Status.CLOSED).first()
    if round is None:
        return False
    report = round_report(round=round)
    if any(judge.get("flagged") for judge in report.get("judges", [])):
        round_report(round=round, exclude_flagged=True)
    return True
