"""Pair services: importing a CSV or JSONL file of paragraph pairs, atomically; deleting pairs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.template.defaultfilters import pluralize

from bti_eval.core.exceptions import ApplicationError
from bti_eval.pairs import parsing
from bti_eval.pairs.import_checks import ImportWarning, import_warnings
from bti_eval.pairs.models import ParagraphPair
from bti_eval.pairs.selectors import pair_external_ids_existing

PREVIEW_ROWS = 10
MAX_LISTED_ERRORS = 200
_SOURCE_MAX = ParagraphPair._meta.get_field("source").max_length
_MAX_LENGTH = {name: ParagraphPair._meta.get_field(name).max_length for name in ("external_id", "title_a", "title_b")}


@dataclass
class RowError:
    row: int  # the file's line where the record starts (CSV header = line 1)
    column: str  # the file's column (or the field when no column applies)
    message: str


@dataclass
class ImportResult:
    format: str
    columns: list[str]  # detected from the CSV header / the JSONL keys
    mapping: dict[str, str | None]  # field -> column actually used
    rows: int  # records read
    preview: list[dict[str, Any]]  # the first mapped records: row + the five fields
    created: int  # pairs written (0 on a dry run or when there are errors)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[ImportWarning] = field(default_factory=list)  # never block the import

    @property
    def valid(self) -> bool:
        return not self.errors

    def errors_as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.errors[:MAX_LISTED_ERRORS]]

    def warnings_as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(w) for w in self.warnings]


def pairs_import(
    *,
    content: bytes,
    filename: str,
    fmt: str | None = None,
    mapping: dict[str, str | None] | None = None,
    source: str,
    by: AbstractBaseUser | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Read ``content`` (a UTF-8 CSV with a header, or JSONL) and create one ParagraphPair per record.

    ``mapping`` maps the fields text_a, text_b (required), external_id, title_a, title_b to the
    file's columns; missing entries are guessed from the column names (JSONL: id/a/b). All or
    nothing: any row error (empty text, missing cell, an external id repeated in the file or
    already in ``source``) writes nothing. A dry run returns the preview and every row error; a
    real import with errors raises ApplicationError (400, ``extra["errors"]``). Too large a file
    raises ApplicationError(413); a non-UTF-8 one, ApplicationError(400). Warnings (identical
    paragraphs, a column mapped twice, paragraphs longer than the model reads: see
    ``import_checks``) are returned on ``result.warnings`` by a dry run and a real import alike.
    """
    source = clean_source(source, example="fashion-2024")
    parsed = pairs_file_read(content=content, filename=filename, fmt=fmt)
    return pairs_import_parsed(parsed=parsed, mapping=mapping, source=source, by=by, dry_run=dry_run)


def pairs_import_parsed(
    *,
    parsed: parsing.ParsedFile,
    mapping: dict[str, str | None] | None = None,
    source: str,
    by: AbstractBaseUser | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """:func:`pairs_import` of a file read already (``pairs_file_read``): the preview page reads
    the staged file once for its columns and rows, and imports what it read."""
    source = clean_source(source, example="fashion-2024")
    used = _resolve_mapping(parsed.columns, mapping or {}, fmt=parsed.format)
    rows = _mapped_rows(parsed, used, source=source, by=by)
    result = ImportResult(
        format=parsed.format,
        columns=parsed.columns,
        mapping=used,
        rows=len(parsed.records) + len(parsed.broken),
        preview=rows.preview,
        created=0,
        errors=rows.errors,
        dry_run=dry_run,
        warnings=import_warnings(mapping=used, texts=rows.texts),
    )
    if dry_run:
        return result
    if rows.errors:
        n = len(rows.errors)
        raise ApplicationError(
            f"Nothing was imported: {n} row error{pluralize(n)}. Fix the file and upload it again.",
            extra={"errors": result.errors_as_dicts(), "error_count": n},
        )
    try:
        with transaction.atomic():
            ParagraphPair.objects.bulk_create(rows.pairs, batch_size=1000)
    except IntegrityError as exc:  # a concurrent import of the same ids won the race
        raise ApplicationError(
            f"Nothing was imported: some external ids already exist in source {source!r}.", status=409
        ) from exc
    result.created = len(rows.pairs)
    return result


@dataclass
class _MappedRows:
    """A file's rows mapped to pairs (unsaved), with every row error, the first PREVIEW_ROWS rows,
    and (row, text_a, text_b) of the rows that map, for the warnings."""

    pairs: list[ParagraphPair] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    texts: list[tuple[int, str, str]] = field(default_factory=list)


def _mapped_rows(
    parsed: parsing.ParsedFile, used: dict[str, str | None], *, source: str, by: AbstractBaseUser | None
) -> _MappedRows:
    """Map every record with ``used`` and check it: field errors, duplicate external ids within the
    file and against the source's existing pairs, an empty file. Errors come sorted by row."""
    out = _MappedRows(errors=[RowError(row=row, column="", message=message) for row, message in parsed.broken])
    id_column = used.get("external_id") or "external_id"
    first_row_of_id: dict[str, int] = {}
    for row, values in parsed.records:
        fields, row_errors = _map_record(row, values, used)
        out.errors.extend(row_errors)
        if "text_a" in fields and "text_b" in fields:
            out.texts.append((row, fields["text_a"], fields["text_b"]))
        external_id = fields.get("external_id", "")
        if external_id and not row_errors:
            if external_id in first_row_of_id:
                message = f"duplicate external id {external_id!r} (first at line {first_row_of_id[external_id]})"
                out.errors.append(RowError(row, id_column, message))
            else:
                first_row_of_id[external_id] = row
        if len(out.preview) < PREVIEW_ROWS:
            out.preview.append({"row": row, **fields})
        out.pairs.append(ParagraphPair(source=source, created_by=by, **fields))
    if not parsed.records and not out.errors:
        out.errors.append(RowError(row=1, column="", message="the file has no rows of pairs"))
    out.errors.extend(_existing_id_errors(source, first_row_of_id, id_column))
    out.errors.sort(key=lambda e: e.row)
    return out


def clean_source(source: str | None, *, example: str) -> str:
    """``source`` stripped; ApplicationError when it is empty or longer than the field allows."""
    source = (source or "").strip()
    if not source:
        raise ApplicationError(f"Name the source of these pairs (e.g. {example!r}).")
    if len(source) > _SOURCE_MAX:
        raise ApplicationError(f"The source name is too long ({_SOURCE_MAX} characters at most).")
    return source


def check_upload_size(size: int) -> None:
    """Refuse (ApplicationError 413) a file larger than settings.BTI_MAX_UPLOAD_BYTES."""
    limit = settings.BTI_MAX_UPLOAD_BYTES
    if size > limit:
        raise ApplicationError(
            f"The file is {size:,} bytes; the limit is {limit:,} bytes (BTI_MAX_UPLOAD_BYTES). "
            "Split it into smaller files.",
            status=413,
        )


def pairs_file_read(*, content: bytes, filename: str, fmt: str | None = None) -> parsing.ParsedFile:
    """Check size, format and encoding and split the file into records (file-level errors raise)."""
    check_upload_size(len(content))
    fmt = parsing.detect_format(filename=filename, fmt=fmt)
    return parsing.parse(text=parsing.decode_utf8(content), fmt=fmt)


def _resolve_mapping(columns: list[str], requested: dict[str, str | None], *, fmt: str) -> dict[str, str | None]:
    """Field -> column: the requested ones (checked against the file), the rest guessed by name."""
    unknown = sorted(set(requested) - set(parsing.FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown mapping field(s) {', '.join(unknown)}: use {', '.join(parsing.FIELDS)}.")
    guessed = parsing.guess_mapping(columns)
    used: dict[str, str | None] = {}
    for name in parsing.FIELDS:
        column = requested.get(name)
        if column:
            # A JSONL key may be absent from every line read so far; rows then report it missing.
            if fmt == "csv" and column not in columns:
                raise ApplicationError(
                    f"Column {column!r} (mapped to {name}) is not in the file. Columns found: {', '.join(columns)}.",
                    extra={"columns": columns},
                )
            used[name] = column
        elif name in requested:  # explicitly left unmapped
            used[name] = None
        else:
            used[name] = guessed[name]
    missing = [name for name in parsing.REQUIRED_FIELDS if not used[name]]
    if missing:
        raise ApplicationError(
            f"Choose the column(s) holding {' and '.join(missing)}. Columns found: {', '.join(columns) or 'none'}.",
            extra={"columns": columns},
        )
    if used["text_a"] == used["text_b"]:
        raise ApplicationError("text_a and text_b must come from two different columns.")
    return used


def _map_record(row: int, values: dict[str, Any], used: dict[str, str | None]) -> tuple[dict[str, str], list[RowError]]:
    fields: dict[str, str] = {}
    errors: list[RowError] = []
    if parsing.EXTRA_CELLS in values:
        errors.append(RowError(row, "", "the row has more cells than the header has columns"))
    for name, column in used.items():
        if not column:
            continue
        value = values.get(column)
        if value is None:
            errors.append(RowError(row, column, f"missing column {column!r} ({name})"))
            continue
        if isinstance(value, (dict, list, bool)) or (name.startswith("text") and not isinstance(value, str)):
            errors.append(RowError(row, column, f"{name} must be text, not {type(value).__name__}"))
            continue
        text = str(value)
        if name in ("text_a", "text_b"):
            if not text.strip():
                errors.append(RowError(row, column, f"empty text ({name})"))
                continue
        else:
            text = text.strip()
            if name == "external_id" and not text:
                errors.append(RowError(row, column, "empty external id"))
                continue
            if len(text) > _MAX_LENGTH[name]:
                errors.append(RowError(row, column, f"{name} is longer than {_MAX_LENGTH[name]} characters"))
                continue
        fields[name] = text
    return fields, errors


def _existing_id_errors(source: str, first_row_of_id: dict[str, int], column: str) -> list[RowError]:
    existing = sorted(pair_external_ids_existing(source=source, external_ids=first_row_of_id))
    return [
        RowError(first_row_of_id[e], column, f"external id {e!r} already exists in source {source!r}") for e in existing
    ]


@dataclass
class PairsDeleted:
    deleted: int
    drafts: list[str]  # the draft rounds the pairs were taken out of, by name


MAX_NAMED_ROUNDS = 10


def pairs_delete(*, pair_ids: Iterable[int] | None = None, source: str | None = None) -> PairsDeleted:
    """Delete the pairs ``pair_ids``, or every pair of ``source`` (give exactly one), with their
    gold alignments, all or nothing.

    A pair that a launched round (computing, rating, closed or archived) uses is never deleted:
    ApplicationError 409 naming those rounds, and nothing is deleted. A draft round's use does not
    block: the pairs are taken out of the draft (it keeps its other pairs) and the drafts are
    returned by name. The rounds that use the pairs are locked first (as ``round_launch`` locks
    its round), so a draft cannot be launched with a pair deleted under it. Unknown ids: 404.
    """
    if (pair_ids is None) == (source is None):
        raise ApplicationError("Give the pair ids or the source to delete (exactly one of them).")
    if source is not None:
        pairs = ParagraphPair.objects.filter(source=source)
    else:
        ids = sorted({int(i) for i in pair_ids})
        if not ids:
            raise ApplicationError("Choose at least one pair to delete.")
        pairs = ParagraphPair.objects.filter(pk__in=ids)
    what = (
        f"pairs of source {source!r}" if source is not None else "this pair" if len(ids) == 1 else "some of these pairs"
    )
    # The round and explanation models, reached through the relations: this lower app imports no higher one.
    Round = ParagraphPair._meta.get_field("rounds").related_model
    Explanation = ParagraphPair._meta.get_field("explanations").related_model
    with transaction.atomic():
        if source is None:
            found = set(pairs.values_list("id", flat=True))
            missing = [i for i in ids if i not in found]
            if missing:
                raise ApplicationError(
                    f"No pair with id {', '.join(map(str, missing[:20]))}; nothing was deleted.", status=404
                )
        elif not pairs.exists():
            raise ApplicationError(f"There are no pairs in source {source!r}.", status=404)
        selected = ParagraphPair.rounds.through.objects.filter(paragraphpair__in=pairs.values("pk"))
        explained = Explanation.objects.filter(pair__in=pairs.values("pk"))
        using = Q(pk__in=selected.values("evaluationround_id")) | Q(pk__in=explained.values("round_id"))
        rounds = list(Round.objects.select_for_update().filter(using).order_by("pk").values("name", "status"))
        launched = [r["name"] for r in rounds if r["status"] != Round.Status.DRAFT]
        if launched:
            named = ", ".join(repr(n) for n in launched[:MAX_NAMED_ROUNDS])
            more = f" and {len(launched) - MAX_NAMED_ROUNDS} more" if len(launched) > MAX_NAMED_ROUNDS else ""
            raise ApplicationError(
                f"Nothing was deleted: launched round{pluralize(len(launched))} {named}{more} "
                f"use{pluralize(len(launched), 's,')} {what}. "
                "A launched round keeps its pairs; archive the round instead once it is closed.",
                status=409,
                extra={"rounds": launched},
            )
        try:
            _, per_model = pairs.delete()
        except ProtectedError as exc:  # an explanation without a launched round (not expected)
            raise ApplicationError("Nothing was deleted: explanations still use these pairs.", status=409) from exc
    deleted = per_model.get(ParagraphPair._meta.label, 0)
    return PairsDeleted(deleted=deleted, drafts=[r["name"] for r in rounds])
