"""Computing explanations (the worker side of a round): one chunk of one method at a time.

Idempotent by construction: only PENDING/RUNNING rows are computed, results are written by
primary key onto the (round, pair, method) row and never over a DONE one, so a redelivered
chunk (e.g. after a worker was killed mid-task) recomputes what is missing and duplicates nothing.

An imported method's rows (``rounds.imported``) are not explained here: they carry the uploaded
explanation, which one forward pass of the round's model completes (``_complete_group``).
"""

from __future__ import annotations

import json
import logging
from itertools import groupby
from time import perf_counter

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bti_eval.core import jobs
from bti_eval.core.encoders import encoder_get
from bti_eval.rounds.imported import is_imported
from bti_eval.rounds.models import Explanation
from bti_eval.rounds.selectors import round_explain_options
from bti_eval.rounds.services import round_open_if_complete

logger = logging.getLogger(__name__)


def explanations_compute(*, explanation_ids: list[int], worker: str = "") -> dict[str, int]:
    """Compute the given explanations (normally one round, one method) and store them.

    ``worker`` (``bti_eval.core.jobs.worker_identity``) is recorded on the rows while they run, so that a
    worker starting after this one died can take them back (``explanations_recover_lost``).

    Rows already DONE (or FAILED, or gone) are skipped. An explainers error for one pair fails
    only that row (error message kept, not retried). A method that cannot run here (not installed
    on this worker, a plugin that fails to import) or that breaks the method contract
    (``explainers.MethodError``: a plugin's exception or wrong shapes) fails every row of the chunk
    with its message, keeping none of them; the round then waits for a retry or a drop, so it
    never opens with a broken method half computed. When the round has nothing left to compute,
    it opens for rating. Returns ``{"done": n, "failed": n, "skipped": n}``.
    """
    rows = list(
        Explanation.objects.filter(
            pk__in=explanation_ids, status__in=[Explanation.Status.PENDING, Explanation.Status.RUNNING]
        )
        .select_related("round", "pair")
        .order_by("round_id", "method", "pair_id")
    )
    counts = {"done": 0, "failed": 0, "skipped": len(set(explanation_ids)) - len(rows)}
    for (round_id, method), group in groupby(rows, key=lambda r: (r.round_id, r.method)):
        # An imported method is not in the registry: its rows carry their explanations, completed here.
        imported = is_imported(round_id=round_id, method=method)
        done, failed = (_complete_group if imported else _compute_group)(list(group), worker=worker)
        counts["done"] += done
        counts["failed"] += failed
    round_ids = set(Explanation.objects.filter(pk__in=explanation_ids).values_list("round_id", flat=True))
    for round_id in sorted(round_ids):
        round_open_if_complete(round_id=round_id)
    return counts


def _compute_group(rows: list[Explanation], *, worker: str) -> tuple[int, int]:
    import torch

    import explainers
    from explainers.errors import ExplainerError, MethodError, NonFiniteScoresError, UnknownMethodError

    round, method = rows[0].round, rows[0].method
    Explanation.objects.filter(
        pk__in=[r.pk for r in rows], status__in=[Explanation.Status.PENDING, Explanation.Status.RUNNING]
    ).update(
        status=Explanation.Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), worker=worker[:255]
    )
    try:  # a method this worker cannot run fails the whole chunk before the model loads
        spec = explainers.get_method(method)
        spec.load()
    except UnknownMethodError:
        return _store({r.pk: _unknown_method(method, worker) for r in rows})
    except MethodError as exc:
        return _store({r.pk: str(exc) for r in rows})
    try:
        encoder = encoder_get(model=round.model, dtype=round.dtype, pooling=round.pooling)
    except ExplainerError as exc:
        return _store({r.pk: f"could not load the model: {exc}" for r in rows})

    texts = [(r.pair.text_a, r.pair.text_b) for r in rows]
    options = round_explain_options(round=round, method=method)
    torch.manual_seed(round.seed)
    outcomes: dict[int, tuple[dict, float] | str] = {}
    start = perf_counter()
    try:
        results = explainers.explain_pairs(encoder, texts, method, **options)
        seconds = (perf_counter() - start) / len(rows)
        outcomes = {r.pk: (e.to_dict(), seconds) for r, e in zip(rows, results, strict=True)}
    except MethodError as exc:
        # The method itself is broken (a plugin's wrong shapes, say): the whole chunk fails, nothing stored.
        return _store({r.pk: str(exc) for r in rows})
    except ExplainerError:
        # One bad pair fails the batch: explain pair by pair to keep the good ones.
        for row, pair in zip(rows, texts, strict=True):
            start = perf_counter()
            try:
                explanation = explainers.explain_pairs(encoder, [pair], method, **options)[0]
                outcomes[row.pk] = (explanation.to_dict(), perf_counter() - start)
            except MethodError as exc:
                return _store({r.pk: str(exc) for r in rows})
            except NonFiniteScoresError:
                outcomes[row.pk] = f"{spec.describe()} gave NaN or infinite scores for this pair"
            except ExplainerError as exc:
                outcomes[row.pk] = str(exc) or type(exc).__name__
    return _store(outcomes)


def _unknown_method(method: str, worker: str) -> str:
    where = f"worker {worker.split()[0]}" if worker.strip() else "this worker"
    return (
        f"method {method!r} is not installed on {where}: install the plugin that provides it on every worker "
        "(and the web server), restart the workers, then retry"
    )


def _store(outcomes: dict[int, tuple[dict, float] | str]) -> tuple[int, int]:
    """Write each row's payload (DONE) or error (FAILED) by pk, never over a DONE row."""
    done = failed = 0
    now = timezone.now()
    with transaction.atomic():
        for pk, outcome in outcomes.items():
            row = Explanation.objects.filter(pk=pk).exclude(status=Explanation.Status.DONE)
            if isinstance(outcome, tuple) and _is_finite_json(outcome[0]):
                payload, seconds = outcome
                done += row.update(
                    status=Explanation.Status.DONE, payload=payload, compute_seconds=seconds, error="", finished_at=now
                )
            else:
                error = outcome if isinstance(outcome, str) else "the explanation holds NaN or infinite numbers"
                error = error[: jobs.ERROR_LENGTH]
                failed += row.update(status=Explanation.Status.FAILED, error=error, finished_at=now)
    return done, failed


def _is_finite_json(payload: dict) -> bool:
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _complete_group(rows: list[Explanation], *, worker: str) -> tuple[int, int]:
    """An imported method's rows completed from the round's model: one forward pass per batch
    (``explainers.similarity.pair_readings``) gives each pair's similarity, used where the uploaded
    line had none, and the tokenizer's cut (``truncated``, ``words_read``), always the model's, so
    that a judge sees the same cut on every method of a pair. ``model`` is the line's when it named
    one, else the round's model. An explainers error for one pair fails only that row."""
    from explainers.errors import ExplainerError
    from explainers.similarity import pair_readings

    Explanation.objects.filter(
        pk__in=[r.pk for r in rows], status__in=[Explanation.Status.PENDING, Explanation.Status.RUNNING]
    ).update(
        status=Explanation.Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), worker=worker[:255]
    )
    try:
        round = rows[0].round
        encoder = encoder_get(model=round.model, dtype=round.dtype, pooling=round.pooling)
    except ExplainerError as exc:
        return _store({r.pk: f"could not load the model: {exc}" for r in rows})
    texts = [(r.pair.text_a, r.pair.text_b) for r in rows]
    outcomes: dict[int, tuple[dict, float] | str] = {}
    start = perf_counter()
    try:
        readings = pair_readings(encoder, texts)
        seconds = (perf_counter() - start) / len(rows)
        for row, reading in zip(rows, readings, strict=True):
            outcomes[row.pk] = (_completed(row.payload or {}, reading, encoder), seconds)
    except ExplainerError:
        for row, pair in zip(rows, texts, strict=True):
            start = perf_counter()
            try:
                [reading] = pair_readings(encoder, [pair])
                outcomes[row.pk] = (_completed(row.payload or {}, reading, encoder), perf_counter() - start)
            except ExplainerError as exc:
                outcomes[row.pk] = str(exc) or type(exc).__name__
    return _store(outcomes)


def _completed(payload: dict, reading, encoder) -> dict:
    """The uploaded ``payload`` with the model's reading, in the contract's key order. ``model`` is
    the line's when it named one, else the round's model; ``model_info`` only the line's."""
    similarity = payload["similarity"] if payload.get("similarity") is not None else reading.similarity
    model_info = payload.get("model_info")
    out = {
        "method": payload.get("method", ""),
        "model": payload.get("model") or encoder.name,
        **({"model_info": dict(model_info)} if model_info else {}),
        "similarity": float(similarity),
        "truncated": bool(reading.truncated),
        **({"words_read": list(reading.words_read)} if reading.words_read is not None else {}),
        "words": payload.get("words") or [[], []],
        "pairs": payload.get("pairs") or [],
    }
    if payload.get("diagnostics"):
        out["diagnostics"] = payload["diagnostics"]
    return out
