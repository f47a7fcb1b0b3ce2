"""Catalog services: import a catalog, embed it (chunked Celery jobs), mine pairs, train RecoBERT.

Model names follow the rounds' convention: "" is settings.BTI_DEFAULT_MODEL (else the packaged
all-MiniLM-L6-v2), anything else a local model dir. The model work is in :mod:`explainers`.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from bti_eval.catalogs.models import Catalog, CatalogItem, CatalogJob, CatalogVector
from bti_eval.core import jobs
from bti_eval.core.encoders import encoder_get, explain_device, model_path
from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.models import ParagraphPair
from bti_eval.pairs.selectors import pair_external_ids_existing
from bti_eval.pairs.services import check_upload_size

EMBED_CHUNK_SIZE = 512  # items per Celery task
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_ID_MAX = CatalogItem._meta.get_field("external_id").max_length
_TITLE_MAX = CatalogItem._meta.get_field("title").max_length


def catalog_import(
    *,
    content: bytes,
    filename: str,
    name: str,
    id_column: str,
    text_column: str,
    title_column: str = "",
    fmt: str | None = None,
    by: AbstractBaseUser | None = None,
) -> Catalog:
    """Create a Catalog and its items from a UTF-8 CSV/JSONL catalog, all or nothing.

    Empty texts and exact-duplicate texts are skipped and counted on the Catalog (``skipped_empty``,
    ``skipped_duplicate``). A missing column, a bad line, a missing or repeated id, a non-UTF-8 or
    too large file raise ApplicationError (nothing is written).
    """
    from explainers.catalog import parse_catalog
    from explainers.errors import InputError
    from explainers.rows import decode_utf8, detect_format

    name = (name or "").strip()
    if not _SLUG.match(name):
        raise ApplicationError("Name the catalog with letters, digits, '-' or '_' (e.g. 'wine-2024').")
    if Catalog.objects.filter(name=name).exists():
        raise ApplicationError(f"A catalog named {name!r} exists already; choose another name.", status=409)
    if not id_column or not text_column:
        raise ApplicationError("Choose the id column and the text column.")
    check_upload_size(len(content))
    try:
        items, report = parse_catalog(
            decode_utf8(content, "the file"),
            fmt=detect_format(filename, fmt),
            id_column=id_column,
            text_column=text_column,
            title_column=title_column or None,
            what="the file",
        )
    except InputError as exc:
        raise ApplicationError(f"Nothing was imported: {exc}.") from None
    for item in items:
        if len(item.id) > _ID_MAX:
            raise ApplicationError(
                f"Nothing was imported: the file line {item.row}: id longer than {_ID_MAX} characters."
            )
    if not items:
        raise ApplicationError(f"Nothing was imported: the file has no usable items ({report.summary()}).")
    with transaction.atomic():
        catalog = Catalog.objects.create(
            name=name,
            filename=filename[:255],
            id_column=id_column,
            text_column=text_column,
            title_column=title_column or "",
            rows=report.rows,
            skipped_empty=report.empty,
            skipped_duplicate=report.duplicate,
            created_by=by,
        )
        CatalogItem.objects.bulk_create(
            [
                CatalogItem(catalog=catalog, external_id=it.id, title=it.title[:_TITLE_MAX], text=it.text, row=it.row)
                for it in items
            ],
            batch_size=2000,
        )
    return catalog


def catalog_embed(*, catalog: Catalog, model: str = "", by: AbstractBaseUser | None = None) -> CatalogJob:
    """Start embedding the items that have no vector under ``model`` yet, in chunks of
    EMBED_CHUNK_SIZE items (model work: the ``explain`` queue), enqueued after commit. Returns the
    job; it is DONE at once when every vector exists already, FAILED with what to do when the broker
    refuses its chunks (ApplicationError 503 when the broker is unreachable: nothing is written)."""
    from bti_eval.catalogs.tasks import catalog_embed_chunk

    missing = list(catalog.items.exclude(vectors__model=model).order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        job = CatalogJob.objects.create(
            catalog=catalog,
            kind=CatalogJob.Kind.EMBED,
            model=model,
            total=len(missing),
            status=CatalogJob.Status.RUNNING if missing else CatalogJob.Status.DONE,
            finished_at=None if missing else timezone.now(),
            created_by=by,
        )
        chunks = [missing[start : start + EMBED_CHUNK_SIZE] for start in range(0, len(missing), EMBED_CHUNK_SIZE)]
        jobs.enqueue(catalog_embed_chunk, *([job.id, chunk] for chunk in chunks), on_refused=job)
    return job


def catalog_embed_chunk_compute(*, job_id: int, item_ids: list[int]) -> int:
    """Embed ``item_ids`` of an embed job (skipping items embedded already: a rerun is harmless)
    and update the job's progress. Returns the vectors written."""
    from explainers.retrieval import embed_texts

    job = CatalogJob.objects.get(pk=job_id)
    if job.status != CatalogJob.Status.RUNNING:
        return 0
    items = list(CatalogItem.objects.filter(pk__in=item_ids).exclude(vectors__model=job.model).order_by("id"))
    written = 0
    if items:
        vectors = embed_texts(encoder_get(model=job.model), [it.text for it in items]).cpu().numpy()
        rows = [
            CatalogVector(item=it, model=job.model, vector=CatalogVector.pack(v))
            for it, v in zip(items, vectors, strict=True)
        ]
        written = len(CatalogVector.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000))
    with transaction.atomic():
        job = CatalogJob.objects.select_for_update().get(pk=job_id)
        job.done = min(job.total, job.done + len(items))
        if job.done >= job.total:
            job.status, job.finished_at = CatalogJob.Status.DONE, timezone.now()
        job.save(update_fields=["done", "status", "finished_at"])
    return written


def catalog_job_fail(*, job_id: int, error: str) -> int:
    """Mark a catalog job FAILED with ``error`` unless it has ended; returns 0 or 1."""
    return jobs.job_mark_failed(CatalogJob, job_id, error=error)


def catalog_mine_pairs(
    *,
    catalog: Catalog,
    model: str = "",
    seeds: int | None = None,
    seed_ids: list[str] | None = None,
    random_seed: int = 0,
    k: int = 1,
    only_rank_k: bool = False,
    by: AbstractBaseUser | None = None,
) -> dict[str, Any]:
    """ParagraphPairs (source ``catalog:<name>``, external id ``seed_id→candidate_id``, similarity) of
    each seed item with its neighbours at ranks 1..k (or only at rank k), by exact cosine over the
    stored vectors; items with the seed's text are never candidates. Seeds: ``seed_ids``, else
    ``seeds`` items drawn with ``random_seed``. Pairs that exist already are left as they are.
    Returns {"created", "existing", "pair_ids", "seeds", "random_seed", "source"}."""
    if k < 1 or k > 100:
        raise ApplicationError("k must be between 1 and 100.")
    items, chosen, mined = _neighbours_mine(
        catalog=catalog, model=model, seeds=seeds, seed_ids=seed_ids, random_seed=random_seed, k=k
    )
    if only_rank_k:
        mined = [p for p in mined if p["rank"] == k]
    source = f"catalog:{catalog.name}"[:200]
    created, existing, ids = _mined_pairs_store(mined, source=source, by=by)
    return {
        "created": created,
        "existing": existing,
        "pair_ids": ids,
        "seeds": [items[i].id for i in chosen],
        "random_seed": random_seed,
        "source": source,
    }


def _neighbours_mine(
    *, catalog: Catalog, model: str, seeds: int | None, seed_ids: list[str] | None, random_seed: int, k: int
) -> tuple[list, list[int], list[dict[str, Any]]]:
    """(the catalog's items, the indices of the seeds chosen, each seed's neighbours at ranks 1..k)."""
    import torch

    from bti_eval.catalogs.selectors import catalog_vectors
    from explainers.errors import InputError
    from explainers.retrieval import choose_seeds, neighbours

    items, vectors = catalog_vectors(catalog=catalog, model=model)
    if vectors is None:
        raise ApplicationError("Embed the catalog with this model first (some items have no vector yet).")
    if len(items) < 2:
        raise ApplicationError("The catalog needs at least 2 items.")
    try:
        chosen = choose_seeds(items, seeds, seed=random_seed, ids=seed_ids or None)
    except InputError as exc:
        raise ApplicationError(str(exc)) from None
    return items, chosen, neighbours(items, torch.from_numpy(vectors), chosen, k)


def _mined_pairs_store(
    mined: list[dict[str, Any]], *, source: str, by: AbstractBaseUser | None
) -> tuple[int, int, list[int]]:
    """Create the mined pairs that do not exist yet under ``source``: (created, existing, every pair id)."""
    for pair in mined:
        if len(pair["id"]) > 200:
            raise ApplicationError(
                f"The pair id {pair['id'][:60]}… is longer than 200 characters; shorten the item ids."
            )
    with transaction.atomic():
        existing = pair_external_ids_existing(source=source, external_ids=[p["id"] for p in mined])
        new = [
            ParagraphPair(
                source=source,
                external_id=p["id"],
                text_a=p["a"],
                text_b=p["b"],
                title_a=p["title_a"][:500],
                title_b=p["title_b"][:500],
                similarity=p["similarity"],
                created_by=by,
            )
            for p in mined
            if p["id"] not in existing
        ]
        ParagraphPair.objects.bulk_create(new)
    ids = ParagraphPair.objects.filter(source=source, external_id__in=[p["id"] for p in mined])
    return len(new), len(existing), list(ids.values_list("id", flat=True))


def catalog_train_recobert(
    *,
    catalog: Catalog,
    model: str = "",
    epochs: int = 1,
    max_steps: int | None = None,
    batch_size: int = 16,
    holdout: float = 0.0,
    seed: int = 0,
    by: AbstractBaseUser | None = None,
) -> CatalogJob:
    """Queue a RecoBERT training job on the catalog's titled items (model work: the ``explain``
    queue), after commit; the job is FAILED with what to do when the broker refuses it."""
    from bti_eval.catalogs import tasks

    if not catalog.title_column:
        raise ApplicationError("This catalog was imported without a title column; RecoBERT trains on (title, text).")
    if batch_size < 2 or epochs < 1 or (max_steps is not None and max_steps < 1) or not 0 <= holdout < 1:
        raise ApplicationError("Use batch size >= 2, epochs >= 1, max steps >= 1 and holdout in [0, 1).")
    titled = catalog.items.exclude(title="").count()
    if titled < 2:
        raise ApplicationError("RecoBERT needs at least 2 items with a title.")
    params = {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size, "holdout": holdout, "seed": seed}
    with transaction.atomic():
        job = CatalogJob.objects.create(
            catalog=catalog, kind=CatalogJob.Kind.TRAIN, model=model, params=params, created_by=by
        )
        jobs.enqueue(tasks.catalog_train_recobert, [job.id], on_refused=job)
    return job


def catalog_train_recobert_run(*, job_id: int) -> dict[str, Any]:
    """Run a training job: writes the model under settings.VAR_DIR/models/ and records its dir."""
    from explainers.catalog import CatalogItem as Item
    from explainers.errors import ExplainerError
    from explainers.recobert import train_recobert

    with transaction.atomic():
        job = CatalogJob.objects.select_for_update().get(pk=job_id)
        if job.status != CatalogJob.Status.PENDING:
            return job.result
        job.status = CatalogJob.Status.RUNNING
        job.save(update_fields=["status"])
    items = [
        Item(id=it.external_id, text=it.text, title=it.title)
        for it in job.catalog.items.exclude(title="").order_by("id")
    ]
    output = settings.VAR_DIR / "models" / f"{job.catalog.name}-recobert-{job.id}"
    output.parent.mkdir(parents=True, exist_ok=True)

    def on_step(step: int, total: int, loss: float) -> None:
        if step == 1 or step % 10 == 0 or step == total:
            CatalogJob.objects.filter(pk=job_id).update(done=step, total=total)

    params = job.params
    try:
        result = train_recobert(
            items,
            output,
            model=model_path(job.model),
            epochs=params.get("epochs", 1),
            max_steps=params.get("max_steps"),
            batch_size=params.get("batch_size", 16),
            holdout=params.get("holdout", 0.0),
            seed=params.get("seed", 0),
            device=explain_device(),
            on_step=on_step,
        )
    except ExplainerError as exc:
        catalog_job_fail(job_id=job_id, error=str(exc))
        return {}
    losses = result["losses"]
    summary = {
        "model_dir": str(output),
        "steps": result["steps"],
        "train_items": result["train_items"],
        "holdout_ids": result["holdout_ids"],
        "loss_first": losses[0],
        "loss_last": losses[-1],
    }
    CatalogJob.objects.filter(pk=job_id).update(
        status=CatalogJob.Status.DONE,
        result=summary,
        done=result["steps"],
        total=result["steps"],
        finished_at=timezone.now(),
    )
    return summary
