"""argparse value types shared by the CLI's subcommands."""

from __future__ import annotations

import argparse


def positive_int(value: str) -> int:
    """An integer >= 1, else argparse's usage error (exit code 2)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n
