"""Catalog reads: lists, a catalog's items with their stored vectors, jobs, vector counts."""

from __future__ import annotations

import numpy as np
from django.db.models import Count, QuerySet

from bti_eval.catalogs.models import Catalog, CatalogJob, CatalogVector


def catalog_list() -> QuerySet[Catalog]:
    return Catalog.objects.annotate(item_count=Count("items")).order_by("-id")


def catalog_jobs(*, catalog: Catalog) -> QuerySet[CatalogJob]:
    return catalog.jobs.order_by("-id")


def catalog_vector_counts(*, catalog: Catalog) -> dict[str, int]:
    """Vectors stored per model name ("" = the default model)."""
    return catalogs_vector_counts(catalog_ids=[catalog.pk]).get(catalog.pk, {})


def catalogs_vector_counts(*, catalog_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{catalog_id: {model: vectors stored}}`` for many catalogs in one grouped query (a catalog
    without vectors is absent)."""
    rows = (
        CatalogVector.objects.filter(item__catalog_id__in=catalog_ids)
        .values("item__catalog_id", "model")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["item__catalog_id"], {})[r["model"]] = r["n"]
    return counts


def catalog_vectors(*, catalog: Catalog, model: str = "") -> tuple[list, np.ndarray | None]:
    """The catalog's items (explainers CatalogItem, by id) and their vectors (n, hidden) float32 under
    ``model``; vectors is None when some item has none yet."""
    from explainers.catalog import CatalogItem as Item

    rows = list(catalog.items.order_by("id").values_list("id", "external_id", "text", "title"))
    stored = dict(
        CatalogVector.objects.filter(item__catalog=catalog, model=model)
        .values_list("item_id", "vector")
        .iterator(chunk_size=2000)
    )
    items = [Item(id=ext, text=text, title=title) for _, ext, text, title in rows]
    if len(stored) < len(rows) or not rows:
        return items, None
    vectors = np.stack([CatalogVector.unpack(stored[pk]) for pk, *_ in rows])  # (n, hidden)
    return items, vectors
