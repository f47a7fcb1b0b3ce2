"""Gold word alignments: importing iSTS ``.wa`` files as pairs with their alignments, and reading them back."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.template.defaultfilters import pluralize

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.ists import WaFormatError, gold_token_pairs, parse_wa, token_spans
from bti_eval.pairs.models import GoldAlignment, ParagraphPair
from bti_eval.pairs.parsing import decode_utf8
from bti_eval.pairs.selectors import pair_external_ids_existing
from bti_eval.pairs.services import check_upload_size, clean_source

MAX_LISTED_IDS = 20


def ists_dataset_name(filename: str) -> str:
    """``STSint.input.headlines.wa`` → ``headlines``: the prefix of the pairs' external ids."""
    stem = Path(filename).name
    stem = stem.removesuffix(".wa")
    return stem.removeprefix("STSint.input.").removeprefix("STSint.") or "ists"


def pairs_import_ists(
    *,
    content: bytes,
    filename: str,
    source: str,
    by: AbstractBaseUser | None = None,
    limit: int | None = None,
) -> int:
    """Create one ParagraphPair with its GoldAlignment per sentence pair of an iSTS ``.wa`` file.

    The pair's texts are the gold tokens joined by single spaces (so token char spans are exact);
    ``external_id`` is ``<dataset>-<sentence id>`` (dataset from the file name, e.g. headlines-12).
    ``limit`` keeps the first N sentence pairs. All or nothing: a malformed file, or ids that
    already exist in ``source``, raise ApplicationError and write nothing. Returns pairs created.
    """
    source = clean_source(source, example="ists-headlines")
    if limit is not None and limit < 1:
        raise ApplicationError("limit must be 1 or more.")
    check_upload_size(len(content))
    try:
        sentences = parse_wa(decode_utf8(content))
    except WaFormatError as exc:
        raise ApplicationError(f"{Path(filename).name} is not a valid iSTS .wa file: {exc}.") from exc
    if not sentences:
        raise ApplicationError(f"{Path(filename).name} holds no <sentence> blocks.")
    sentences = sentences[:limit] if limit else sentences
    dataset = ists_dataset_name(filename)
    ids = [f"{dataset}-{s.id}" for s in sentences]
    existing = pair_external_ids_existing(source=source, external_ids=ids)
    if existing:
        shown = ", ".join(sorted(existing)[:MAX_LISTED_IDS])
        raise ApplicationError(
            f"Nothing was imported: {len(existing)} pair{pluralize(len(existing))} of this file already "
            f"exist{pluralize(len(existing), 's,')} in source {source!r} "
            f"({shown}). Import it under another --source, or not again.",
            status=409,
        )
    try:
        with transaction.atomic():
            pairs = ParagraphPair.objects.bulk_create(
                [
                    ParagraphPair(source=source, external_id=i, text_a=s.text_a, text_b=s.text_b, created_by=by)
                    for i, s in zip(ids, sentences, strict=True)
                ],
                batch_size=1000,
            )
            GoldAlignment.objects.bulk_create(
                [
                    GoldAlignment(
                        pair=pair,
                        tokens_a=token_spans(s.tokens_a),
                        tokens_b=token_spans(s.tokens_b),
                        chunks=[
                            {"a": list(c.a), "b": list(c.b), "type": c.type, "score": c.score}
                            for c in s.chunks
                            if c.aligned
                        ],
                    )
                    for pair, s in zip(pairs, sentences, strict=True)
                ],
                batch_size=1000,
            )
    except IntegrityError as exc:  # a concurrent import of the same ids won the race
        raise ApplicationError(
            f"Nothing was imported: some ids already exist in source {source!r}.", status=409
        ) from exc
    return len(pairs)


def gold_alignments_for(*, pair_ids: list[int]) -> dict[int, dict]:
    """``{pair_id: {"tokens_a", "tokens_b", "token_pairs": set[(i, j)]}}`` for the pairs that have one."""
    found: dict[int, dict] = {}
    for start in range(0, len(pair_ids), 1000):
        rows = GoldAlignment.objects.filter(pair_id__in=pair_ids[start : start + 1000]).values_list(
            "pair_id", "tokens_a", "tokens_b", "chunks"
        )
        for pair_id, tokens_a, tokens_b, chunks in rows:
            found[pair_id] = {"tokens_a": tokens_a, "tokens_b": tokens_b, "token_pairs": gold_token_pairs(chunks)}
    return found
