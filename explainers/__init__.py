"""explainers: why a BERT-family encoder finds two paragraphs similar.

BTI (Malkiel et al., "Interpreting BERT-based Text Similarity via Activation and Saliency Maps",
WWW '22) and the baselines of its Table 1, behind one API::

    encoder = explainers.load_encoder()            # default: all-MiniLM-L6-v2
    [explanation] = explainers.explain_pairs(encoder, [(a, b)], "bti")
    explanation.to_dict()                          # the JSON contract of DESIGN.md

Methods come from one registry (:mod:`explainers.registry`): the built-ins, plus any that installed
packages add through the entry-point group ``explainers.methods``.

Names that need torch/transformers (``load_encoder``, ``Encoder``, ``explain_pairs``,
``sanity_check``) are imported on first access, so importing the package to render stored
explanations or list methods stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ExplainerError, InputError, MethodError, ModelLoadError, NonFiniteScoresError, UnknownMethodError
from .explanation import Explanation, Word, WordPair
from .registry import available_methods, get_method

if TYPE_CHECKING:
    from .encoder import Encoder, load_encoder
    from .pipeline import explain_pairs
    from .render import render_html, render_page
    from .sanity import sanity_check

_LAZY = {
    "Encoder": ".encoder",
    "load_encoder": ".encoder",
    "explain_pairs": ".pipeline",
    "render_html": ".render",
    "render_page": ".render",
    "sanity_check": ".sanity",
}

__all__ = [
    "Encoder",
    "ExplainerError",
    "Explanation",
    "InputError",
    "MethodError",
    "ModelLoadError",
    "NonFiniteScoresError",
    "UnknownMethodError",
    "Word",
    "WordPair",
    "available_methods",
    "explain_pairs",
    "get_method",
    "load_encoder",
    "render_html",
    "render_page",
    "sanity_check",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
