"""Computing explanations (the worker side of a round): one chunk of one method at a time.

Idempotent by construction: only PENDING/RUNNING rows are computed, results are written by
primary key onto the (round, pair, method) row and never over a DONE one, so a redelivered
chunk (e.g. after a worker was killed mid-task) recomputes what is missing and duplicates nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from itertools import groupby
from time import perf_counter
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bti_eval.rounds.models import EvaluationRound, Explanation
from bti_eval.rounds.services import round_open_if_complete

logger = logging.getLogger(__name__)

MAX_CACHED_ENCODERS = 2
XStatus = Explanation.Status

_encoders: OrderedDict[tuple[str | None, str | None, int | None], Any] = OrderedDict()
_encoders_lock = threading.Lock()


def model_path(model: str = "") -> str | None:
    """A round's or job's model for ``explainers.load_encoder``: the name itself, else
    settings.BTI_DEFAULT_MODEL, else None (the packaged all-MiniLM-L6-v2)."""
    return model or settings.BTI_DEFAULT_MODEL or None


def explain_device() -> str | None:
    """settings.BTI_EXPLAIN_DEVICE, or None (CUDA when available, else CPU)."""
    return settings.BTI_EXPLAIN_DEVICE or None


def encoder_get(*, model: str = "", random_seed: int | None = None) -> Any:
    """The explainers Encoder for ``model`` ("" = settings.BTI_DEFAULT_MODEL, then the packaged one);
    with ``random_seed``, the same architecture with random weights from that seed (the sanity test).

    Loaded once per worker process and kept (the last MAX_CACHED_ENCODERS, keyed by (model path,
    device, random seed)); the device is settings.BTI_EXPLAIN_DEVICE, or CUDA when available, else CPU.
    """
    import explainers

    path, device = model_path(model), explain_device()
    key = (path, device, random_seed)
    with _encoders_lock:
        if key in _encoders:
            _encoders.move_to_end(key)
            return _encoders[key]
        if random_seed is None:
            encoder = explainers.load_encoder(path, device=device)
        else:
            encoder = explainers.load_encoder(path, device=device, random_init=True, seed=random_seed)
        _encoders[key] = encoder
        while len(_encoders) > MAX_CACHED_ENCODERS:
            _encoders.popitem(last=False)
        logger.info(
            "loaded encoder %s on %s%s", encoder.name, encoder.device, "" if random_seed is None else " (random)"
        )
        return encoder


def round_corpus(*, round: EvaluationRound) -> list[str]:
    """All paragraphs of the round (text_a, text_b of each pair by id): tfidf-w2v's fit corpus."""
    corpus: list[str] = []
    for text_a, text_b in round.pairs.order_by("id").values_list("text_a", "text_b"):
        corpus += [text_a, text_b]
    return corpus


def explanations_compute(*, explanation_ids: list[int], worker: str = "") -> dict[str, int]:
    """Compute the given explanations (normally one round, one method) and store them.

    ``worker`` (``workers.celery.worker_identity``) is recorded on the rows while they run, so that a
    worker starting after this one died can take them back (``explanations_recover_lost``).

    Rows already DONE (or FAILED, or gone) are skipped. An explainers error for one pair fails
    only that row (error message kept, not retried). When the round has nothing left to compute,
    it opens for rating. Returns ``{"done": n, "failed": n, "skipped": n}``.
    """
    rows = list(
        Explanation.objects.filter(pk__in=explanation_ids, status__in=[XStatus.PENDING, XStatus.RUNNING])
        .select_related("round", "pair")
        .order_by("round_id", "method", "pair_id")
    )
    counts = {"done": 0, "failed": 0, "skipped": len(set(explanation_ids)) - len(rows)}
    for _, group in groupby(rows, key=lambda r: (r.round_id, r.method)):
        done, failed = _compute_group(list(group), worker=worker)
        counts["done"] += done
        counts["failed"] += failed
    round_ids = set(Explanation.objects.filter(pk__in=explanation_ids).values_list("round_id", flat=True))
    for round_id in sorted(round_ids):
        round_open_if_complete(round_id=round_id)
    return counts


def _compute_group(rows: list[Explanation], *, worker: str) -> tuple[int, int]:
    import torch

    import explainers
    from explainers.errors import ExplainerError

    round, method = rows[0].round, rows[0].method
    Explanation.objects.filter(pk__in=[r.pk for r in rows], status__in=[XStatus.PENDING, XStatus.RUNNING]).update(
        status=XStatus.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), worker=worker[:255]
    )
    try:
        encoder = encoder_get(model=round.model)
    except ExplainerError as exc:
        return _store({r.pk: f"could not load the model: {exc}" for r in rows})

    texts = [(r.pair.text_a, r.pair.text_b) for r in rows]
    options: dict[str, Any] = {"top_k": round.top_k}
    if method == "tfidf-w2v":
        options["corpus"] = round_corpus(round=round)
    torch.manual_seed(round.seed)
    outcomes: dict[int, tuple[dict, float] | str] = {}
    start = perf_counter()
    try:
        results = explainers.explain_pairs(encoder, texts, method, **options)
        seconds = (perf_counter() - start) / len(rows)
        outcomes = {r.pk: (e.to_dict(), seconds) for r, e in zip(rows, results, strict=True)}
    except ExplainerError:
        # One bad pair fails the batch: explain pair by pair to keep the good ones.
        for row, pair in zip(rows, texts, strict=True):
            start = perf_counter()
            try:
                explanation = explainers.explain_pairs(encoder, [pair], method, **options)[0]
                outcomes[row.pk] = (explanation.to_dict(), perf_counter() - start)
            except ExplainerError as exc:
                outcomes[row.pk] = str(exc) or type(exc).__name__
    return _store(outcomes)


def _store(outcomes: dict[int, tuple[dict, float] | str]) -> tuple[int, int]:
    """Write each row's payload (DONE) or error (FAILED) by pk, never over a DONE row."""
    done = failed = 0
    now = timezone.now()
    with transaction.atomic():
        for pk, outcome in outcomes.items():
            row = Explanation.objects.filter(pk=pk).exclude(status=XStatus.DONE)
            if isinstance(outcome, tuple) and _is_finite_json(outcome[0]):
                payload, seconds = outcome
                done += row.update(
                    status=XStatus.DONE, payload=payload, compute_seconds=seconds, error="", finished_at=now
                )
            else:
                error = outcome if isinstance(outcome, str) else "the explanation holds NaN or infinite numbers"
                failed += row.update(status=XStatus.FAILED, error=error[:5000], finished_at=now)
    return done, failed


def _is_finite_json(payload: dict) -> bool:
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
