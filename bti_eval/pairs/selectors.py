"""Pair selectors: lists for pages, the API and round creation."""

from __future__ import annotations

import random
from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from bti_eval.pairs.models import ParagraphPair


def pair_list(*, source: str | None = None) -> QuerySet[ParagraphPair]:
    """All pairs, or those of one ``source``, in import order."""
    qs = ParagraphPair.objects.all()
    if source is not None:
        qs = qs.filter(source=source)
    return qs.order_by("id")


def pair_list_with_use(*, source: str | None = None) -> QuerySet[ParagraphPair]:
    """:func:`pair_list` with ``in_launched_round`` annotated: True when a launched round (not a
    draft) selected the pair, which then cannot be deleted."""
    Round = ParagraphPair._meta.get_field("rounds").related_model  # no import of the higher app
    launched = ParagraphPair.rounds.through.objects.filter(
        ~Q(evaluationround__status=Round.Status.DRAFT), paragraphpair_id=OuterRef("pk")
    )
    return pair_list(source=source).annotate(in_launched_round=Exists(launched))


def pair_sources() -> list[dict]:
    """``[{"source": name, "pairs": n}, ...]`` by name."""
    return list(ParagraphPair.objects.values("source").annotate(pairs=Count("id")).order_by("source"))


def pair_external_ids_existing(*, source: str, external_ids: Iterable[str], chunk_size: int = 500) -> set[str]:
    """Which of ``external_ids`` are taken in ``source`` already (queried ``chunk_size`` ids at a time)."""
    ids = list(dict.fromkeys(external_ids))
    existing: set[str] = set()
    for start in range(0, len(ids), chunk_size):
        existing.update(
            ParagraphPair.objects.filter(source=source, external_id__in=ids[start : start + chunk_size]).values_list(
                "external_id", flat=True
            )
        )
    return existing


def pair_ids_select(*, source: str | None = None, limit: int | None = None, seed: int = 0) -> list[int]:
    """Ids of the pairs of ``source`` (None = all); with ``limit``, a sample of that many drawn with ``seed``."""
    ids = list(pair_list(source=source).values_list("id", flat=True))
    if limit is not None and 0 < limit < len(ids):
        ids = sorted(random.Random(seed).sample(ids, limit))
    return ids
