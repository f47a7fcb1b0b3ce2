"""Corpus reads: lists, a corpus's items with their stored vectors, jobs, vector counts."""

from __future__ import annotations

import numpy as np
from django.db.models import Count, QuerySet

from bti_eval.corpora.models import Corpus, CorpusJob, CorpusVector


def corpus_list() -> QuerySet[Corpus]:
    return Corpus.objects.annotate(item_count=Count("items")).order_by("-id")


def corpus_jobs(*, corpus: Corpus) -> QuerySet[CorpusJob]:
    return corpus.jobs.order_by("-id")


def corpus_vector_counts(*, corpus: Corpus) -> dict[str, int]:
    """Vectors stored per model name ("" = the default model)."""
    return corpora_vector_counts(corpus_ids=[corpus.pk]).get(corpus.pk, {})


def corpora_vector_counts(*, corpus_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{corpus_id: {model: vectors stored}}`` for many corpora in one grouped query (a corpus
    without vectors is absent)."""
    rows = (
        CorpusVector.objects.filter(item__corpus_id__in=corpus_ids)
        .values("item__corpus_id", "model")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["item__corpus_id"], {})[r["model"]] = r["n"]
    return counts


def corpus_vectors(*, corpus: Corpus, model: str = "") -> tuple[list, np.ndarray | None]:
    """The corpus's items (explainers CorpusItem, by id) and their vectors (n, hidden) float32 under
    ``model``; vectors is None when some item has none yet."""
    from explainers.corpus import CorpusItem as Item

    rows = list(corpus.items.order_by("id").values_list("id", "external_id", "text", "title"))
    stored = dict(
        CorpusVector.objects.filter(item__corpus=corpus, model=model)
        .values_list("item_id", "vector")
        .iterator(chunk_size=2000)
    )
    items = [Item(id=ext, text=text, title=title) for _, ext, text, title in rows]
    if len(stored) < len(rows) or not rows:
        return items, None
    vectors = np.stack([CorpusVector.unpack(stored[pk]) for pk, *_ in rows])  # (n, hidden)
    return items, vectors
