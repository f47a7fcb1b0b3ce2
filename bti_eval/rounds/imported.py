"""Imported methods: explanations computed elsewhere, uploaded into a draft round under a name of
the researcher's choice (services), and the rows a launch makes of them.

The file is checked by ``explainers.imported`` (the format and every rule are in its docstring),
under the round's lock, for its structure and against the round's pairs: each line's ``id``
is a pair's external id (its platform id when it has none, as the exports name pairs), every pair
of the round exactly once, and each paragraph's words exactly its words. One bad line refuses the
whole file and nothing is written (ApplicationError 400 whose ``extra["errors"]`` lists
``{"line", "message"}``, ``line`` null for the file as a whole).

The name must follow ``explainers.imported.NAME_RULE`` and may not be a method the platform
computes (``explainers.registry.available_methods()``: built-ins and plugins), the control items'
name (400), or a method the round already has (409). Only a draft takes or gives back an imported
method (409 otherwise).

At launch (``imported_launch_rows``) each imported explanation becomes a PENDING row of the round
carrying its uploaded payload; a worker completes it from the round's model
(``rounds.compute``: the similarity when the line had none, the truncation cut), and from then on
it is one of the round's explanations like any other.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs.services import check_upload_size
from bti_eval.rounds.constants import CONTROL_METHOD
from bti_eval.rounds.models import EvaluationRound, Explanation, ImportedExplanation, ImportedMethod

logger = logging.getLogger(__name__)

Status = EvaluationRound.Status
MAX_FILE_NAME = ImportedMethod._meta.get_field("file_name").max_length


def imported_method_create(
    *, round: EvaluationRound, name: str, content: bytes, file_name: str, by: AbstractBaseUser | None = None
) -> ImportedMethod:
    """Import the explanations of the JSONL ``content`` into the draft ``round`` as method ``name``;
    all or nothing. Records the provenance (file name, SHA-256, size, lines, uploader, time) and
    appends ``name`` to the round's methods. Errors: 413 (too large), 400 (a bad name or file: the
    message and ``extra["errors"]`` name each line), 409 (not a draft; the name is the round's already)."""
    check_upload_size(len(content))
    _require_draft(round, "import explanations into")
    name = _clean_name(name, round)
    file_name = _file_name(file_name)
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().get(pk=round.pk)
        _require_draft(locked, "import explanations into")
        name = _clean_name(name, locked)
        explanations, pair_ids = _read_against_round(locked, content, what=f"File {file_name!r}")
        method = ImportedMethod.objects.create(
            round=locked,
            name=name,
            file_name=file_name,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            lines=len(explanations),
            similarities_given=sum(e.similarity is not None for e in explanations),
            uploaded_by=by,
        )
        ImportedExplanation.objects.bulk_create(
            (
                ImportedExplanation(method=method, pair_id=pair_ids[e.id], line=e.line, payload=e.payload(name))
                for e in explanations
            ),
            batch_size=1000,
        )
        locked.methods = [*locked.methods, name]
        locked.save(update_fields=["methods"])
    logger.info("round %s: %d explanations imported as %r by %s", round.pk, len(explanations), name, by)
    round.refresh_from_db()
    return method


def imported_method_remove(*, round: EvaluationRound, name: str) -> str:
    """Take the imported method ``name`` (its explanations and provenance) out of the draft
    ``round``; returns the name. 404 when the round has no imported method of that name, 409 when
    the round is not a draft."""
    with transaction.atomic():
        locked = EvaluationRound.objects.select_for_update().get(pk=round.pk)
        method = ImportedMethod.objects.filter(round=locked, name=name).first()
        if method is None:
            raise ApplicationError(f"Round {locked.name!r} has no imported method {name!r}.", status=404)
        _require_draft(locked, "remove an imported method from")
        method.delete()
        locked.methods = [m for m in locked.methods if m != name]
        locked.save(update_fields=["methods"])
    round.refresh_from_db()
    return name


def imported_launch_rows(*, round: EvaluationRound, pair_ids: list[int]) -> list[Explanation]:
    """The unsaved PENDING rows of the round's imported methods (in the round's method order, each
    by pair), each carrying its uploaded payload for the worker to complete. A method that does not
    cover exactly ``pair_ids`` (not expected: a deleted pair takes its imported explanations with
    it) is a 409 that says to upload it again."""
    imported = {m.name: m for m in ImportedMethod.objects.filter(round=round)}
    rows: list[Explanation] = []
    for name in [m for m in round.methods if m in imported]:
        payloads = dict(ImportedExplanation.objects.filter(method=imported[name]).values_list("pair_id", "payload"))
        if sorted(payloads) != sorted(pair_ids):
            raise ApplicationError(
                f"The imported method {name!r} does not cover exactly the round's pairs; remove it and upload "
                "its file again.",
                status=409,
            )
        rows += [Explanation(round=round, pair_id=p, method=name, payload=payloads[p]) for p in pair_ids]
    return rows


def is_imported(*, round_id: int, method: str) -> bool:
    """Whether ``method`` is an imported method of the round ``round_id`` (not a registry method)."""
    return ImportedMethod.objects.filter(round_id=round_id, name=method).exists()


def imported_names(*, round: EvaluationRound) -> list[str]:
    """The round's imported methods' names, in upload order."""
    return list(ImportedMethod.objects.filter(round=round).values_list("name", flat=True))


def _clean_name(name: str, round: EvaluationRound) -> str:
    from explainers.errors import InputError
    from explainers.imported import check_name
    from explainers.registry import available_methods

    try:
        name = check_name(name, taken=available_methods())
    except InputError as exc:
        raise ApplicationError(_sentence(str(exc)), extra={"field": "name"}) from None
    if name == CONTROL_METHOD:
        raise ApplicationError(
            f"Method name {name!r} is kept for the round's control items; choose another.", extra={"field": "name"}
        )
    if name in round.methods:
        raise ApplicationError(
            f"Round {round.name!r} already has a method named {name!r}. Choose another name, or remove that "
            "imported method first.",
            status=409,
            extra={"field": "name"},
        )
    return name


def _read_against_round(round: EvaluationRound, content: bytes, *, what: str):
    """The file's explanations, checked for structure and against the round's pairs' texts at once
    (400 listing every line's error), and ``{id: pair id}`` of the round's pairs. The round's
    pairs must have distinct ids to be named by them."""
    from explainers.imported import ImportFileError, read_file

    ids: dict[str, int] = {}
    texts: dict[str, tuple[str, str]] = {}
    sources: dict[str, list[str]] = {}
    for pk, source, external_id, text_a, text_b in round.pairs.order_by("id").values_list(
        "id", "source", "external_id", "text_a", "text_b"
    ):
        key = external_id or str(pk)
        sources.setdefault(key, []).append(source)
        ids[key], texts[key] = pk, (text_a, text_b)
    repeated = {key: found for key, found in sources.items() if len(found) > 1}
    if repeated:
        shown = "; ".join(
            f"{key!r} (sources {', '.join(map(repr, found))})" for key, found in list(repeated.items())[:5]
        )
        raise ApplicationError(
            f"Round {round.name!r} has pairs that share an id ({shown}), so a file cannot name them apart. "
            "Make a round whose pairs have distinct ids (e.g. the pairs of one source).",
            extra={"field": "file"},
        )
    try:
        explanations = read_file(
            content, what=what, max_bytes=settings.BTI_MAX_UPLOAD_BYTES, texts=texts, pairs_name=f"round {round.name!r}"
        )
    except ImportFileError as exc:
        raise _refused(exc) from None
    return explanations, ids


def _file_name(given: str) -> str:
    """The upload's base name as a record: no folders, no control characters (a NUL cannot be
    stored), at most the column's length."""
    name = PurePath((given or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:MAX_FILE_NAME] or "upload.jsonl"


def _refused(exc) -> ApplicationError:
    """An ``explainers.imported.ImportFileError`` as the 400 the API and the page show."""
    return ApplicationError(
        str(exc),
        extra={
            "field": "file",
            "errors": [{"line": e.line, "message": e.message} for e in exc.errors],
            "more_errors": exc.more,
        },
    )


def _require_draft(round: EvaluationRound, action: str) -> None:
    if round.status != Status.DRAFT:
        raise ApplicationError(
            f"Cannot {action} round {round.name!r}: it is {round.status}, and only a draft round can be.",
            status=409,
        )


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
