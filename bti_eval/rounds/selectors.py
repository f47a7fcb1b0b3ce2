"""Round selectors: lists and the progress of a round's explanation work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, Min, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bti_eval.rounds.models import EvaluationRound, Explanation, ImportedMethod

STATUSES = [s.value for s in Explanation.Status]
MAX_LISTED_FAILURES = 100


def _count(rows: QuerySet, round_field: str) -> Coalesce:
    """The number of ``rows`` whose ``round_field`` is the outer round: a correlated subquery, so
    each count reads its own table once (one annotate over two joined tables would count pairs ×
    explanations rows per round); 0 for none."""
    counted = rows.filter(**{round_field: OuterRef("pk")}).order_by().values(round_field).annotate(n=Count("*"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


def round_list(*, archived: bool = False) -> QuerySet[EvaluationRound]:
    """Rounds, newest first, with ``pair_count`` and ``explanation_count`` / ``done_count`` annotated.

    Archived rounds are left out unless ``archived`` is True ("show archived": all rounds).
    """
    round_pairs = EvaluationRound.pairs.through.objects.all()  # unique (round, pair): rows = distinct pairs
    rounds = EvaluationRound.objects.all() if archived else EvaluationRound.objects.filter(archived_at__isnull=True)
    return rounds.annotate(
        pair_count=_count(round_pairs, "evaluationround"),
        explanation_count=_count(Explanation.objects.all(), "round"),
        done_count=_count(Explanation.objects.filter(status=Explanation.Status.DONE), "round"),
    ).select_related("created_by")


def round_progress(*, round: EvaluationRound) -> dict[str, Any]:
    """Counts of the round's explanations by status, overall and per method, plus the failures.

    ``{"status", "total", "done", "failed", "pending", "running", "can_open",
    "per_method": {method: {"total", "done", "failed", "pending", "running"}},
    "failures": [{"explanation_id", "pair", "pair_id", "method", "error", "attempts"}],
    "failures_total", "eta_seconds", "eta_text"}``; failures list at most MAX_LISTED_FAILURES rows.
    ``eta_seconds`` estimates the time left while computing (``estimate_seconds_left``; None before
    any explanation is done, and once nothing is left), and ``eta_text`` says it in words.
    """
    per_method: dict[str, dict[str, int]] = {m: _zero() for m in round.methods}
    totals = _zero()
    seconds: dict[str, float] = {}
    first_start = None
    rows = (
        Explanation.objects.filter(round=round)
        .values("method", "status")
        .annotate(n=Count("id"), seconds=Sum("compute_seconds"), first=Min("started_at"))
    )
    for row in rows.order_by():
        counts = per_method.setdefault(row["method"], _zero())
        for bucket in (counts, totals):
            bucket[row["status"]] += row["n"]
            bucket["total"] += row["n"]
        if row["status"] == Explanation.Status.DONE:
            seconds[row["method"]] = float(row["seconds"] or 0.0)
        if row["first"] is not None and (first_start is None or row["first"] < first_start):
            first_start = row["first"]
    failed_rows = (
        Explanation.objects.filter(round=round, status=Explanation.Status.FAILED)
        .select_related("pair")
        .order_by("method", "pair_id")[:MAX_LISTED_FAILURES]
    )
    failures = [
        {
            "explanation_id": e.pk,
            "pair": e.pair.external_id or str(e.pair_id),
            "pair_id": e.pair_id,
            "method": e.method,
            "error": e.error,
            "attempts": e.attempts,
        }
        for e in failed_rows
    ]
    return {
        "status": round.status,
        **totals,
        "can_open": round.status == EvaluationRound.Status.COMPUTING
        and totals["total"] > 0
        and totals["done"] == totals["total"],
        "per_method": per_method,
        "failures": failures,
        "failures_total": totals["failed"],
        **_eta(round, per_method, seconds, first_start),
    }


def round_truncation(*, round: EvaluationRound) -> dict[str, Any]:
    """How many of the round's computed explanations read only the start of a long paragraph
    (``truncated`` in the payload: a paragraph over the model's token limit; the words past the
    cut get saliency 0). ``{"explanations": n, "pairs": n, "per_method": {method: n}}``; control
    items are not counted. One query, which reads every payload once: for pages and exports, not
    for a judge's hot path."""
    rows = (
        Explanation.objects.filter(round=round, status=Explanation.Status.DONE, is_control=False)
        .filter(payload__truncated=True)
        .order_by()
        .values_list("method", "pair_id")
    )
    per_method: dict[str, int] = {m: 0 for m in round.methods}
    pairs: set[int] = set()
    for method, pair_id in rows:
        per_method[method] = per_method.get(method, 0) + 1
        pairs.add(pair_id)
    return {"explanations": sum(per_method.values()), "pairs": len(pairs), "per_method": per_method}


def round_imported_methods(*, round: EvaluationRound) -> list[dict[str, Any]]:
    """The provenance of the round's imported methods, in upload order: ``{"method", "file_name",
    "sha256", "size_bytes", "lines", "similarities_given", "uploaded_by", "uploaded_at"}``
    (``uploaded_by``: the uploader's username, None when unknown; ``uploaded_at``: a datetime)."""
    columns = ["uploaded_by__username" if c == "uploaded_by" else c for c in ImportedMethod.PROVENANCE]
    rows = ImportedMethod.objects.filter(round=round).order_by("id").values_list("name", *columns)
    return [dict(zip(["method", *ImportedMethod.PROVENANCE], row, strict=True)) for row in rows]


def round_pairs_jsonl(*, round: EvaluationRound) -> Iterator[str]:
    """The round's pairs as JSON Lines ``{"id", "a", "b"}`` by pair id: the CLI's explain input,
    ``python -m explainers validate --pairs``'s, and the ids an imported file names (the external
    id, else the platform's id, as exports name pairs)."""
    rows = round.pairs.order_by("id").values_list("id", "external_id", "text_a", "text_b")
    for pk, external_id, text_a, text_b in rows.iterator(chunk_size=2000):
        yield json.dumps({"id": external_id or str(pk), "a": text_a, "b": text_b}, ensure_ascii=False) + "\n"


def estimate_seconds_left(
    per_method: dict[str, dict[str, int]], seconds: dict[str, float], *, elapsed: float
) -> float | None:
    """Wall seconds left for the pending and running explanations, or None with no basis yet.

    Per method, the compute seconds per explanation of its DONE rows (``compute_seconds``) times its
    rows left; a method with none done yet counts at the slowest known method's pace (methods differ
    a hundredfold: integrated gradients against tfidf-w2v). The compute seconds become wall seconds
    at the pace seen so far, ``elapsed`` wall seconds for the compute seconds done: that folds in the
    number of workers, model loading and queueing.
    """
    paces = {m: seconds[m] / c["done"] for m, c in per_method.items() if c["done"] and m in seconds}
    left = {m: c["pending"] + c["running"] for m, c in per_method.items()}
    done_seconds = sum(seconds.values())
    if not paces or done_seconds <= 0 or elapsed <= 0:
        return None
    slowest = max(paces.values())
    work = sum(n * paces.get(m, slowest) for m, n in left.items())
    return work * elapsed / done_seconds


def _eta(round: EvaluationRound, per_method, seconds, first_start: datetime | None) -> dict[str, Any]:
    left = sum(c["pending"] + c["running"] for c in per_method.values())
    if round.status != EvaluationRound.Status.COMPUTING or not left:
        return {"eta_seconds": None, "eta_text": ""}
    elapsed = (timezone.now() - first_start).total_seconds() if first_start else 0.0
    eta = estimate_seconds_left(per_method, seconds, elapsed=elapsed)
    return {"eta_seconds": None if eta is None else round_seconds(eta), "eta_text": eta_text(eta)}


def round_seconds(value: float) -> int:
    return int(value + 0.5)


def eta_text(seconds: float | None) -> str:
    """ "estimating…" without a basis, else the time left in words, rounded as a clock would not be."""
    if seconds is None:
        return "estimating…"
    if seconds < 60:
        return "less than a minute"
    minutes = round_seconds(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min"


def _zero() -> dict[str, int]:
    return {"total": 0, **{s: 0 for s in STATUSES}}


def round_explain_options(*, round: EvaluationRound, method: str) -> dict[str, Any]:
    """The keyword options of ``explainers.explain_pairs`` with which ``method`` explains the round's
    pairs, the same for its chunks and for the automatic metrics' re-runs: the round's ``top_k``, and
    for a method that fits a corpus (``"corpus"`` in its registry options: tfidf-w2v) all paragraphs of
    the round (text_a, text_b of each pair by id)."""
    from explainers import get_method

    options: dict[str, Any] = {"top_k": round.top_k}
    if "corpus" in get_method(method).options:
        corpus: list[str] = []
        for text_a, text_b in round.pairs.order_by("id").values_list("text_a", "text_b"):
            corpus += [text_a, text_b]
        options["corpus"] = corpus
    return options
