"""Round services: create, launch (enqueue explanation chunks), retry or drop failures, open, close;
delete a draft, archive and restore a closed round.

A round moves draft → computing → rating → closed. Every transition locks the round row
(``select_for_update``) so that concurrent requests and workers see one consistent status.

Launch and the broker (``core.jobs.enqueue``): a launch checks that the broker accepts a connection
(a short timeout); when it does not, the round stays a draft and nothing is written (ApplicationError
503). If publishing still fails after the commit, a compensating transaction deletes the round's
explanations and puts it back to draft, and a 503 is raised: a round is never left "computing" with
nothing queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from bti_eval.core import jobs
from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.constants import STALE_RUNNING_AFTER
from bti_eval.rounds.imported import imported_launch_rows, imported_names
from bti_eval.rounds.models import (
    DEFAULT_PAIRS_SHOWN,
    MAX_PAIRS_SHOWN,
    EvaluationRound,
    Explanation,
    default_methods,
)
from bti_eval.rounds.signals import round_closed, round_opened
from explainers.modeldir import DTYPES, POOLING_MODES

logger = logging.getLogger(__name__)

MAX_TOP_K = 50
Status = EvaluationRound.Status


def round_create(
    *,
    name: str,
    pairs: Iterable[int | ParagraphPair],
    methods: list[str] | None = None,
    model: str = "",
    dtype: str = "fp32",
    pooling: str = "",
    top_k: int = 2,
    pairs_shown: int = DEFAULT_PAIRS_SHOWN,
    seed: int = 0,
    by: AbstractBaseUser | None = None,
    design: str = EvaluationRound.Design.ALL,
    judges_per_explanation: int | None = None,
    control_items: int = 0,
    too_fast_seconds: float | None = None,
    auto_metrics: bool = False,
) -> EvaluationRound:
    """A draft round over ``pairs`` (ids, pairs or a queryset) explained by ``methods``.

    ``methods`` defaults to the paper's seven (``default_methods()``) and must be names from
    ``explainers.available_methods()`` (built-ins and installed plugins' methods); ``model`` is ""
    (the default model) or a local model dir; ``dtype`` (fp32, bf16, fp16) the precision of its
    forward pass and ``pooling`` ("" = the model's own, else mean, cls, max or mean-sqrt-len) how its
    paragraph vectors are pooled.
    ``top_k``: MeanShift clusters of pair scores kept by TopWords (the paper's top_k = 2);
    ``pairs_shown``: rows of matched words a judge sees at most, the same budget for every method
    (the stored explanations keep the full selection).
    Options (see ``round_options_update``): the assignment ``design`` ("all", "k-per-item" with
    ``judges_per_explanation``, or "pairwise" with an optional ``judges_per_explanation`` per
    comparison), ``control_items`` (degraded explanations added at opening),
    ``too_fast_seconds`` (the judges' too-fast threshold) and ``auto_metrics`` (run evaluate_auto
    as a task once the explanations are computed). An ApplicationError about one input names it
    in ``extra["field"]`` (the API's field name), so that a form can show it beside that field.
    """
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the round a name.", extra={"field": "name"})
    methods = _clean_methods(default_methods() if methods is None else methods)
    model = _clean_model(model)
    _check_encoder_options(dtype=dtype, pooling=pooling)
    _check_display(top_k=top_k, pairs_shown=pairs_shown)
    pair_ids = _clean_pair_ids(pairs)
    options = _clean_options(
        {
            "design": design,
            "judges_per_explanation": judges_per_explanation,
            "control_items": control_items,
            "too_fast_seconds": too_fast_seconds,
            "auto_metrics": auto_metrics,
        },
        n_pairs=len(pair_ids),
        n_methods=len(methods),
    )

    with transaction.atomic():
        round = EvaluationRound.objects.create(
            name=name,
            model=model,
            dtype=dtype,
            pooling=pooling or "",
            methods=methods,
            top_k=int(top_k),
            pairs_shown=int(pairs_shown),
            seed=int(seed),
            created_by=by,
            **options,
        )
        round.pairs.set(pair_ids)
    return round


def _clean_methods(methods: Iterable[str]) -> list[str]:
    """The round's methods: at least one, each once, each a usable method of the registry
    (``explainers.available_methods()``: built-ins and installed plugins; see ``_check_methods``)."""
    import explainers
    from explainers.registry import broken_plugins

    methods = list(methods)
    if not methods:
        raise ApplicationError("Choose at least one method.", extra={"field": "methods"})
    available = explainers.available_methods()
    unknown = [m for m in methods if m not in available]
    broken = {plugin.name for plugin in broken_plugins()}
    _check_methods([m for m in unknown if m in broken])  # a broken plugin's own message
    if unknown:
        raise ApplicationError(
            f"Unknown method(s) {', '.join(map(str, unknown))}. Available: {', '.join(available)}.",
            extra={"field": "methods"},
        )
    if len(set(methods)) != len(methods):
        raise ApplicationError("Each method may appear once.", extra={"field": "methods"})
    _check_methods(methods)
    return methods


def _check_methods(methods: Iterable[str]) -> None:
    """ApplicationError (400, field "methods") naming the first method that cannot run here: one no
    longer installed, a plugin the registry refused, or one whose function's module is missing. It
    is found without importing that module (``Method.check``), so the web process never loads torch
    for it. The web server must have every plugin the workers have (it lists them and their titles)."""
    from explainers.errors import MethodError, UnknownMethodError
    from explainers.registry import get_method

    for method in methods:
        try:
            get_method(method).check()
        except UnknownMethodError as exc:
            raise ApplicationError(
                f"Method {method!r} is not installed on this server (was its plugin removed?). Install it on the "
                "server and the workers, or create a round without it.",
                extra={"field": "methods"},
            ) from exc
        except MethodError as exc:
            raise ApplicationError(
                f"{exc}. Fix or reinstall the plugin on the server and the workers, or choose other methods.",
                extra={"field": "methods"},
            ) from exc


def _clean_model(model: str) -> str:
    """ "" (the default model) or a local Hugging Face model directory."""
    model = (model or "").strip()
    if model and not Path(model).is_dir():
        raise ApplicationError(
            f"Model directory {model!r} does not exist on the server. Give a local Hugging Face model "
            "directory, or leave it empty for the default model.",
            extra={"field": "model"},
        )
    if model and not (Path(model) / "config.json").is_file():
        raise ApplicationError(
            f"{model!r} is not a Hugging Face model directory (no config.json in it).", extra={"field": "model"}
        )
    return model


def _check_encoder_options(*, dtype: str, pooling: str) -> None:
    """dtype and pooling among the encoder's options (``explainers.modeldir``, no torch)."""
    if dtype not in DTYPES:
        raise ApplicationError(
            f"Unknown dtype {dtype!r}: use {', '.join(DTYPES)} (the precision of the model's forward pass).",
            extra={"field": "dtype"},
        )
    if pooling and pooling not in POOLING_MODES:
        raise ApplicationError(
            f"Unknown pooling {pooling!r}: use {', '.join(POOLING_MODES)}, or leave it empty for the model's own.",
            extra={"field": "pooling"},
        )


def _check_display(*, top_k: int, pairs_shown: int) -> None:
    """top_k (MeanShift score clusters kept) and pairs_shown (rows a judge sees) within their bounds."""
    if not 1 <= int(top_k) <= MAX_TOP_K:
        raise ApplicationError(
            f"top_k must be between 1 and {MAX_TOP_K} (MeanShift score clusters kept, not pairs).",
            extra={"field": "top_k"},
        )
    if isinstance(pairs_shown, bool) or not 1 <= int(pairs_shown) <= MAX_PAIRS_SHOWN:
        raise ApplicationError(
            f"pairs_shown (rows of matched words a judge sees) must be between 1 and {MAX_PAIRS_SHOWN}.",
            extra={"field": "pairs_shown"},
        )


def _clean_pair_ids(pairs: Iterable[int | ParagraphPair]) -> list[int]:
    """The sorted ids of ``pairs`` (ids, pairs or a queryset): at least one, every one existing."""
    pair_ids = sorted({p.pk if isinstance(p, ParagraphPair) else int(p) for p in pairs})
    if not pair_ids:
        raise ApplicationError("Choose at least one pair (import pairs first).", extra={"field": "pairs"})
    found = set(ParagraphPair.objects.filter(pk__in=pair_ids).values_list("id", flat=True))
    missing = [i for i in pair_ids if i not in found]
    if missing:
        raise ApplicationError(f"Unknown pair id(s): {', '.join(map(str, missing[:20]))}.", extra={"field": "pairs"})
    return pair_ids


OPTIONS_BEFORE_OPENING = ("design", "judges_per_explanation", "control_items", "auto_metrics")
OPTIONS = (*OPTIONS_BEFORE_OPENING, "too_fast_seconds")
MAX_JUDGES_PER_EXPLANATION = 1000
MAX_TOO_FAST_SECONDS = 3600


def round_options_update(*, round: EvaluationRound, **options) -> EvaluationRound:
    """Change a round's options: design, judges_per_explanation, control_items and auto_metrics
    while it is a draft or computing (before judges have assignments); too_fast_seconds at any time (it only
    changes the analysis). Unknown options are an error; 409 for a round already open."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ApplicationError(f"Unknown option(s) {', '.join(unknown)}; use {', '.join(OPTIONS)}.")
    with transaction.atomic():
        locked = _lock(round)
        late = [name for name in options if name in OPTIONS_BEFORE_OPENING]
        if late and locked.status not in (Status.DRAFT, Status.COMPUTING):
            raise ApplicationError(
                f"{', '.join(late)} can only change before the round opens; round {locked.name!r} is {locked.status}.",
                status=409,
            )
        merged = {name: getattr(locked, name) for name in OPTIONS} | options
        cleaned = _clean_options(merged, n_pairs=locked.pairs.count(), n_methods=len(locked.methods))
        for name in OPTIONS:  # e.g. design "all" also clears k
            setattr(locked, name, cleaned[name])
        locked.save(update_fields=list(OPTIONS))
    round.refresh_from_db()
    return round


def _clean_options(options: dict, *, n_pairs: int, n_methods: int) -> dict:
    """Validated round options (ApplicationError 400 with what to do). The pairwise design needs
    two methods at least; its k (judges per pair and method pair) is optional: None gives every
    judge every comparison."""
    design = options.get("design") or EvaluationRound.Design.ALL
    if design not in EvaluationRound.Design.values:
        raise ApplicationError(
            f"Unknown design {design!r}: use {', '.join(EvaluationRound.Design.values)}.", extra={"field": "design"}
        )
    k = options.get("judges_per_explanation")
    if design == EvaluationRound.Design.PAIRWISE and n_methods < 2:
        raise ApplicationError(
            "The pairwise design compares methods two at a time: choose at least two methods.",
            extra={"field": "methods"},
        )
    if design == EvaluationRound.Design.PAIRWISE and k is not None:
        if isinstance(k, bool) or not 1 <= int(k) <= MAX_JUDGES_PER_EXPLANATION:
            raise ApplicationError(
                f"judges_per_explanation (k judges per pair and method pair) must be between 1 and "
                f"{MAX_JUDGES_PER_EXPLANATION}, or empty: every judge compares everything.",
                extra={"field": "judges_per_explanation"},
            )
        k = int(k)
    elif design == EvaluationRound.Design.K_PER_ITEM:
        if k is None or isinstance(k, bool) or not 1 <= int(k) <= MAX_JUDGES_PER_EXPLANATION:
            raise ApplicationError(
                f"The k-per-item design needs judges_per_explanation (k) between 1 and {MAX_JUDGES_PER_EXPLANATION}.",
                extra={"field": "judges_per_explanation"},
            )
        k = int(k)
    elif design != EvaluationRound.Design.PAIRWISE:
        k = None  # every judge rates everything
    controls = options.get("control_items") or 0
    if isinstance(controls, bool) or not 0 <= int(controls) <= n_pairs:
        raise ApplicationError(
            f"control_items must be between 0 and the round's number of pairs ({n_pairs}).",
            extra={"field": "control_items"},
        )
    too_fast = options.get("too_fast_seconds")
    if too_fast is not None and (isinstance(too_fast, bool) or not 0 <= float(too_fast) <= MAX_TOO_FAST_SECONDS):
        raise ApplicationError(
            f"too_fast_seconds must be between 0 and {MAX_TOO_FAST_SECONDS} seconds (or empty for the default).",
            extra={"field": "too_fast_seconds"},
        )
    return {
        "design": design,
        "judges_per_explanation": k,
        "control_items": int(controls),
        "too_fast_seconds": None if too_fast is None else float(too_fast),
        "auto_metrics": bool(options.get("auto_metrics")),
    }


def round_launch(*, round: EvaluationRound, by: AbstractBaseUser | None = None) -> EvaluationRound:
    """draft → computing: one PENDING explanation per (pair, method), chunks enqueued after commit.

    Refused (400, nothing written) when a method of the round cannot run (``_check_methods``): a
    plugin uninstalled or broken since the round was created never starts a half-computed round."""
    from bti_eval.rounds.tasks import explain_chunk

    _require(round, Status.DRAFT, "launch")
    imported = imported_names(round=round)
    _check_methods([m for m in round.methods if m not in imported])  # a plugin removed or broken since creation
    with transaction.atomic():
        locked = _lock(round)
        _require(locked, Status.DRAFT, "launch")
        pair_ids = list(locked.pairs.order_by("id").values_list("id", flat=True))
        if not pair_ids:
            raise ApplicationError("The round has no pairs to explain.")
        # An imported method's rows carry their uploads (rounds.imported); its chunks only complete them
        # from the round's model. Computed rows first: a pair shows its first done explanation's
        # similarity (judging.blind), so the round model's own whenever the round computes a method.
        imported = imported_launch_rows(round=locked, pair_ids=pair_ids)
        imported_methods = {row.method for row in imported}
        computed = [m for m in locked.methods if m not in imported_methods]
        Explanation.objects.bulk_create(
            [Explanation(round=locked, pair_id=p, method=m) for m in computed for p in pair_ids] + imported,
            batch_size=2000,
        )
        locked.status = Status.COMPUTING
        locked.launched_at = timezone.now()
        locked.save(update_fields=["status", "launched_at"])
        chunks = chunk_ids(_ids_by_method(locked, Explanation.objects.filter(round=locked)))
        round_id = locked.pk
        jobs.enqueue(explain_chunk, *([chunk] for chunk in chunks), on_refused=partial(_launch_revert, round_id))
    logger.info("round %s launched by %s: %d chunks", round_id, by, len(chunks))
    round.refresh_from_db()
    return round


def _launch_revert(round_id: int, message: str) -> None:
    """The broker refused the launch's chunks after the commit: the round is a draft again."""
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().get(pk=round_id)
        Explanation.objects.filter(round=locked).delete()
        locked.status = Status.DRAFT
        locked.launched_at = None
        locked.save(update_fields=["status", "launched_at"])
    raise ApplicationError(f"{message} The round is a draft again; launch it again.", status=503)


def explanations_retry_failed(*, round: EvaluationRound) -> int:
    """Re-enqueue the round's FAILED explanations (and RUNNING ones lost by a dead worker); returns n."""
    from bti_eval.rounds.tasks import explain_chunk

    _require(round, Status.COMPUTING, "retry failed explanations of")
    with transaction.atomic():
        locked = _lock(round)
        _require(locked, Status.COMPUTING, "retry failed explanations of")
        stale = timezone.now() - STALE_RUNNING_AFTER
        rows = Explanation.objects.filter(round=locked).filter(
            Q(status=Explanation.Status.FAILED) | Q(status=Explanation.Status.RUNNING, started_at__lt=stale)
        )
        ids_by_method = _ids_by_method(locked, rows)
        ids = [i for chunk in ids_by_method.values() for i in chunk]
        if not ids:
            raise ApplicationError("There are no failed explanations to retry.", status=409)
        Explanation.objects.filter(pk__in=ids).update(status=Explanation.Status.PENDING, error="")
        chunks = chunk_ids(ids_by_method)
        jobs.enqueue(explain_chunk, *([chunk] for chunk in chunks), on_refused=partial(_retry_refused, ids))
    return len(ids)


def _retry_refused(ids: list[int], message: str) -> None:
    """The broker refused the chunks of a retry after the commit: their rows are FAILED again."""
    explanations_fail(explanation_ids=ids, error=f"{message} Then retry.")
    raise ApplicationError(f"The task broker refused the retry: {message}", status=503)


def explanations_drop_failed(*, round: EvaluationRound) -> dict[str, int | bool]:
    """Delete the round's FAILED explanations so it can open; opens it when the rest are done."""
    _require(round, Status.COMPUTING, "drop failed explanations of")
    with transaction.atomic():
        locked = _lock(round)
        _require(locked, Status.COMPUTING, "drop failed explanations of")
        failed = Explanation.objects.filter(round=locked, status=Explanation.Status.FAILED)
        dropped = failed.count()
        if not dropped:
            raise ApplicationError("There are no failed explanations to drop.", status=409)
        if not Explanation.objects.filter(round=locked).exclude(status=Explanation.Status.FAILED).exists():
            raise ApplicationError(
                "Every explanation of this round failed; dropping them would leave nothing to rate. "
                "Fix the cause (see the errors) and retry instead.",
                status=409,
            )
        failed.delete()
    opened = round_open_if_complete(round_id=round.pk)
    round.refresh_from_db()
    return {"dropped": dropped, "opened": opened}


def explanations_recover_lost(*, is_gone: Callable[[str], bool]) -> int:
    """Take back the explanations of computing rounds whose worker died mid-chunk: RUNNING rows whose
    recorded worker ``is_gone`` go back to PENDING and are queued again (after commit). Returns n.

    Called when a worker starts (``workers.celery``, the ``worker_ready`` signal): a ``kill -9`` leaves
    the rows RUNNING, and the filesystem broker of the embedded mode never redelivers the chunk's
    message (Redis does, but only after its visibility timeout). ``is_gone`` decides from the
    recorded identity (node name and instance; see ``workers.celery.worker_is_gone``); rows with no
    recorded worker are left to the stale-RUNNING rule of ``explanations_retry_failed``. A chunk that
    is still running elsewhere after all is harmless: results are stored once per (round, pair,
    method) and never over a DONE row.
    """
    running = Explanation.objects.filter(status=Explanation.Status.RUNNING, round__status=Status.COMPUTING).exclude(
        worker=""
    )
    gone = {w for w in running.values_list("worker", flat=True).distinct() if is_gone(w)}
    if not gone:
        return 0
    from bti_eval.rounds.tasks import explain_chunk

    with transaction.atomic():
        lost = Explanation.objects.filter(
            status=Explanation.Status.RUNNING, round__status=Status.COMPUTING, worker__in=gone
        )
        chunks: list[list[int]] = []
        ids: list[int] = []
        for round in EvaluationRound.objects.filter(pk__in=lost.values("round_id")):
            ids_by_method = _ids_by_method(round, lost.filter(round=round))
            chunks += chunk_ids(ids_by_method)
            ids += [i for chunk in ids_by_method.values() for i in chunk]
        Explanation.objects.filter(pk__in=ids, status=Explanation.Status.RUNNING).update(
            status=Explanation.Status.PENDING, worker=""
        )
        jobs.enqueue(
            explain_chunk,
            *([chunk] for chunk in chunks),
            on_refused=partial(_retry_refused, ids),
            check_broker=False,  # a worker starting: nobody waits for an answer
        )
    logger.warning("took back %d explanation(s) lost with their worker (%s)", len(ids), ", ".join(sorted(gone)))
    return len(ids)


def explanations_fail(*, explanation_ids: list[int], error: str) -> int:
    """Mark the given explanations that are not DONE as FAILED with ``error``; returns how many."""
    with transaction.atomic():
        return (
            Explanation.objects.filter(pk__in=explanation_ids)
            .exclude(status=Explanation.Status.DONE)
            .update(status=Explanation.Status.FAILED, error=error[: jobs.ERROR_LENGTH], finished_at=timezone.now())
        )


def round_open(*, round: EvaluationRound) -> EvaluationRound:
    """computing → rating, once every explanation is DONE; builds each invited judge's assignments."""
    with transaction.atomic():
        locked = _lock(round)
        _require(locked, Status.COMPUTING, "open")
        _open_locked(locked)
    round.refresh_from_db()
    return round


def round_open_if_complete(*, round_id: int) -> bool:
    """Open the round when it is computing and all its explanations are DONE (called by workers).

    The row lock makes two workers finishing together open it once; returns True if this call opened it.
    """
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().filter(pk=round_id).first()
        if locked is None or locked.status != Status.COMPUTING:
            return False
        if _open_blocker(locked) is not None:
            return False
        _open_ready(locked)
        return True


def round_close(*, round: EvaluationRound) -> EvaluationRound:
    """rating → closed: ratings are frozen from now on; ``round_closed`` lets the results app prepare
    the report."""
    with transaction.atomic():
        locked = _lock(round)
        _require(locked, Status.RATING, "close")
        locked.status = Status.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        round_closed.send(sender=EvaluationRound, round=locked)
    round.refresh_from_db()
    return round


def round_delete(*, round: EvaluationRound) -> dict[str, int | str]:
    """Delete a draft round: its pair selection, settings and invited judges (their accounts and
    links) go; the pairs themselves stay. Returns ``{"name", "judges"}``.

    Only a draft can be deleted (409 otherwise: archive a closed round instead). Ratings are never
    deleted: a round with any rating is refused whatever its status, checked under the round's lock.
    """
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        locked = _lock(round)
        rated = Explanation.objects.filter(round=locked, assignments__rating__isnull=False).exists()
        if rated:
            raise ApplicationError(
                f"Round {locked.name!r} has ratings and can never be deleted; archive it once it is closed.",
                status=409,
            )
        if locked.status != Status.DRAFT:
            hint = (
                " Archive it instead: it is hidden from the lists and can be restored."
                if (locked.status == Status.CLOSED)
                else ""
            )
            raise ApplicationError(
                f"Cannot delete round {locked.name!r}: it is {locked.status}, and only a draft round can be.{hint}",
                status=409,
            )
        judge_users = list(locked.judges.values_list("user_id", flat=True))
        name = locked.name
        get_user_model().objects.filter(pk__in=judge_users, is_staff=False).delete()  # their judges go with them
        locked.delete()
    logger.info("draft round %r deleted with %d invited judges", name, len(judge_users))
    return {"name": name, "judges": len(judge_users)}


def round_archive(*, round: EvaluationRound) -> EvaluationRound:
    """Archive a closed round: hidden from the round lists (``round_list(archived=False)``), every
    row kept (explanations, judges, ratings, results), and restorable. 409 unless closed and not
    archived yet."""
    with transaction.atomic():
        locked = _lock(round)
        _require(locked, Status.CLOSED, "archive")
        if locked.archived_at is not None:
            raise ApplicationError(f"Round {locked.name!r} is archived already.", status=409)
        locked.archived_at = timezone.now()
        locked.save(update_fields=["archived_at"])
    round.refresh_from_db()
    return round


def round_restore(*, round: EvaluationRound) -> EvaluationRound:
    """Put an archived round back in the round lists, as it was. 409 when it is not archived."""
    with transaction.atomic():
        locked = _lock(round)
        if locked.archived_at is None:
            raise ApplicationError(f"Round {locked.name!r} is not archived.", status=409)
        locked.archived_at = None
        locked.save(update_fields=["archived_at"])
    round.refresh_from_db()
    return round


def _open_blocker(locked: EvaluationRound) -> ApplicationError | None:
    """Why a locked round cannot open (a 409), or None when it has explanations and all are DONE (one query)."""
    counts = Explanation.objects.filter(round=locked).aggregate(
        total=Count("id"), not_done=Count("id", filter=~Q(status=Explanation.Status.DONE))
    )
    if not counts["total"]:
        return ApplicationError("The round has no explanations to rate.", status=409)
    if counts["not_done"]:
        n = counts["not_done"]
        return ApplicationError(
            f"{n} explanation{pluralize(n)} {pluralize(n, 'is,are')} not done yet (pending, running or failed). "
            "Wait for them, "
            "or retry or drop the failed ones, then open the round.",
            status=409,
        )
    return None


def _open_locked(locked: EvaluationRound) -> None:
    """Open a locked round once every explanation is DONE (else the 409 of ``_open_blocker``)."""
    blocker = _open_blocker(locked)
    if blocker is not None:
        raise blocker
    _open_ready(locked)


def _open_ready(locked: EvaluationRound) -> None:
    """Open a locked round whose explanations are all DONE: its status, then ``round_opened``, on
    which the judging app builds the control items and every judge's assignments and the results
    app asks for the automatic metrics (``rounds.signals``)."""
    locked.status = Status.RATING
    locked.opened_at = timezone.now()
    locked.save(update_fields=["status", "opened_at"])
    round_opened.send(sender=EvaluationRound, round=locked)


def _lock(round: EvaluationRound) -> EvaluationRound:
    return EvaluationRound.objects.select_for_update().get(pk=round.pk)


def _require(round: EvaluationRound, status: str, action: str) -> None:
    if round.status != status:
        raise ApplicationError(
            f"Cannot {action} round {round.name!r}: it is {round.status}, and only a {status} round can be.",
            status=409,
        )


def chunk_ids(ids_by_method: dict[str, list[int]], *, size: int | None = None) -> list[list[int]]:
    """Each method's ids (kept in order) in chunks of ``size`` (default settings.BTI_CHUNK_SIZE), or
    of the method's own ``pairs_per_chunk`` when the registry gives a smaller one (integrated
    Jacobians: minutes per pair on a CPU). A chunk is ONE round and ONE method, so that a worker
    loads the model once and fills its batches."""
    from explainers.registry import all_methods

    methods = all_methods()
    size = max(1, size or settings.BTI_CHUNK_SIZE)
    chunks = []
    for method, ids in ids_by_method.items():
        spec = methods.get(method)
        n = min(size, spec.pairs_per_chunk or size) if spec is not None else size
        chunks += [ids[i : i + n] for i in range(0, len(ids), n)]
    return chunks


def _ids_by_method(round: EvaluationRound, rows) -> dict[str, list[int]]:
    """Explanation ids per method, in the round's method order, each by pair."""
    ids: dict[str, list[int]] = {m: [] for m in round.methods}
    for method, pk in rows.order_by("pair_id", "id").values_list("method", "id"):
        ids.setdefault(method, []).append(pk)
    return {m: v for m, v in ids.items() if v}
