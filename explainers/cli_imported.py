"""``python -m explainers validate FILE [--pairs PAIRS.jsonl] [--name NAME]``: check a file of
explanations computed elsewhere before importing it into a round (:mod:`explainers.imported`).

Without ``--pairs`` the file's structure is checked; with it (the ``{"id", "a", "b"}`` lines of
``explain --input``, e.g. a round's pairs downloaded from its page) also every word's offsets
against the pair's text, that each paragraph's words are all its words, and that every pair has
exactly one explanation. ``--name`` checks the method name the upload will use. Exit 0 when the
file would be accepted, 2 with every error by line otherwise; no model is loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli_common import Command
from .errors import InputError
from .imported import MAX_FILE_BYTES, ImportFileError, LineError, check_name, read_file
from .registry import available_methods
from .rows import read_rows


def read_pair_texts(path: str) -> dict[str, tuple[str, str]]:
    """``{id: (a, b)}`` of a pairs file (JSONL ``{"id", "a", "b"}``; a line without an id is named by
    its line number, as ``explain --input`` names it); an id given twice is an error naming both lines."""
    rows = read_rows(path, what="pairs file", fmt="jsonl").raise_broken()
    texts: dict[str, tuple[str, str]] = {}
    lines: dict[str, int] = {}
    for row in rows.rows:
        where = f"{rows.what} line {row.line}"
        pair_id = row.values.get("id", row.line)
        if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)):
            raise InputError(f"{where}: 'id' must be text or an integer")
        for key in ("a", "b"):
            if not isinstance(row.values.get(key), str):
                raise InputError(f'{where}: "{key}" must be the paragraph\'s text (expected {{"id", "a", "b"}})')
        key = str(pair_id)
        if key in lines:
            raise InputError(f"{where}: id {key!r} appears again (first on line {lines[key]})")
        lines[key] = row.line
        texts[key] = (row.values["a"], row.values["b"])
    if not texts:
        raise InputError(f"{rows.what} holds no pairs")
    return texts


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the explanations to import (JSON Lines, one per pair)")
    parser.add_argument(
        "--pairs",
        metavar="PAIRS.jsonl",
        help='the pairs they explain, {"id", "a", "b"} lines: also check offsets, coverage and that every pair '
        "has exactly one explanation",
    )
    parser.add_argument("--name", metavar="NAME", help="the method name the upload will use: check it too")


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    what = f"import file {args.file!r}"
    if not path.is_file():
        raise InputError(f"{what} does not exist or is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:  # before reading it into memory
        raise ImportFileError([LineError(None, f"the file is {size:,} bytes; at most {MAX_FILE_BYTES:,}")], what=what)
    if args.name is not None:
        check_name(args.name, taken=available_methods())
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}") from None
    texts = read_pair_texts(args.pairs) if args.pairs is not None else None
    explanations = read_file(data, what=what, texts=texts, pairs_name=f"pairs file {args.pairs!r}")
    n = len(texts or ())
    checked = (
        "structure" if texts is None else f"structure, offsets and coverage of the {n} pair{'s' if n != 1 else ''}"
    )
    given = sum(e.similarity is not None for e in explanations)
    sys.stdout.write(
        f"{args.file}: {len(explanations)} explanation{'s' if len(explanations) != 1 else ''} valid ({checked}); "
        f"{given} with their own similarity, the others get the round model's\n"
    )
    return 0


COMMANDS = (
    Command("validate", "check a file of explanations computed elsewhere before importing it", _arguments, _run),
)
