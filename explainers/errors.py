"""Errors a user can cause. All subclass :class:`ExplainerError`, so callers (CLI: exit code 2,
API: HTTP 4xx) can catch one type and show its message instead of a traceback."""

from __future__ import annotations


class ExplainerError(Exception):
    """Base class of every error the explainers library raises on purpose."""


class ModelLoadError(ExplainerError):
    """A model directory is missing, incomplete or broken."""


class InputError(ExplainerError):
    """Bad input text or options (e.g. an empty paragraph)."""


class UnknownMethodError(ExplainerError):
    """A method name that is not in the registry; the message lists the valid names."""
