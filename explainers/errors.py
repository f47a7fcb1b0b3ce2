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


class MethodError(ExplainerError):
    """A method that cannot be used, or that broke the method contract: a plugin that fails to import
    or to validate, a function that raises, or scores of the wrong type or shape. The message names
    the method and where it comes from (built-in, or the plugin's distribution and version)."""


class NonFiniteScoresError(ExplainerError):
    """A method gave NaN or infinite scores for some pairs of a batch (the message names them); the
    other pairs may be fine, so a caller can explain pair by pair to keep them."""
