"""What every ``python -m explainers`` command shares: the :class:`Command` record and the checks
and writes of its files (fail before any model work; write atomically, so nothing half-written is
left behind). :mod:`explainers.cli` and :mod:`explainers.cli_catalog` both build on it."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, ModelLoadError


@dataclass(frozen=True)
class Command:
    """A subcommand: ``add_arguments(parser)`` declares its options, ``run(args)`` returns the exit code."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def check_output(path: str | None) -> Path | None:
    """Fail before any model work if the output cannot be written where asked."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise InputError(f"output {path!r} is a directory; give a file name")
    if not p.parent.is_dir():
        raise InputError(f"output directory {str(p.parent)!r} does not exist")
    return p


def check_model(model: str | None) -> None:
    """A ModelLoadError when ``model`` is given but is not a directory (before torch is imported)."""
    if model is not None and not Path(model).is_dir():
        raise ModelLoadError(f"model directory {model!r} does not exist; give a Hugging Face model directory")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory and ``os.replace``, so a
    reader sees the old file or the whole new one, never a partial one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it the usual mode
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
