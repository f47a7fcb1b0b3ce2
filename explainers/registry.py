"""Method registry: JSON-safe method names (what a Celery payload or the CLI names) -> implementation.

Implementations are given as "module:function" strings and imported on first use, so that
``import explainers`` (e.g. in the web process, which only renders stored explanations) does not
pull in torch and transformers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UnknownMethodError


@dataclass(frozen=True)
class Method:
    """One explanation method.

    ``score_batch`` ("module:function") does the model work for one batch of pairs and returns
    :class:`explainers.saliency.BatchScores`; ``words`` says how word pairs are scored:
    ``"encoder"`` (word vectors from the last layer, MatchWords + U of Eq. 5-6) or ``"tfidf-w2v"``
    (Λ over TF-IDF and word2vec). ``options`` are the extra keyword options of ``explain_pairs`` it
    uses. ``title`` is the paper's name, for researchers' pages only (never shown to judges).
    ``default``: in a new round's methods unless the researcher chooses (the paper's seven);
    ``source``: where the method comes from, ``"built-in"`` or the plugin that registers it.
    """

    name: str
    title: str
    score_batch: str
    words: str = "encoder"
    options: frozenset[str] = frozenset()
    default: bool = True
    source: str = "built-in"

    def load(self) -> Callable:
        """The ``score_batch`` callable, imported on first use."""
        module, _, attr = self.score_batch.partition(":")
        return getattr(importlib.import_module(module), attr)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("bti", "BTI", "explainers.saliency:bti"),
        Method("bti-last-layer", "BTI (last layer)", "explainers.saliency:bti_last_layer"),
        Method("bti-activations", "BTI (activations only)", "explainers.saliency:bti_activations"),
        Method("bti-gradients", "BTI (gradients only)", "explainers.saliency:bti_gradients"),
        Method("vanilla-gradients", "Vanilla Gradients", "explainers.saliency:vanilla_gradients"),
        Method(
            "integrated-gradients",
            "Integrated Gradients",
            "explainers.integrated_gradients:integrated_gradients",
            options=frozenset({"steps"}),
        ),
        Method(
            "tfidf-w2v",
            "TF-IDF-W2V",
            "explainers.saliency:forward_only",
            words="tfidf-w2v",
            options=frozenset({"corpus", "word2vec"}),
        ),
        Method(
            "integrated-jacobians",
            "Integrated Jacobians",
            "explainers.integrated_jacobians:integrated_jacobians",
            options=frozenset({"steps"}),
            default=False,
        ),
    )
}


def available_methods() -> list[str]:
    """All method names, in the paper's Table 1 order of introduction (BTI first)."""
    return list(METHODS)


def default_methods() -> list[str]:
    """The methods a new round explains unless told otherwise: the paper's seven (Table 1), in
    registry order; methods beyond the paper are offered but not chosen by default."""
    return [name for name, method in METHODS.items() if method.default]


def method_title(name: str) -> str:
    """The paper's name of a method, for researchers' pages; ``name`` itself for one the registry
    does not know (a round's control items, an imported explanation)."""
    method = METHODS.get(name)
    return method.title if method is not None else name


def get_method(name: str) -> Method:
    """The :class:`Method` called ``name``; raises :class:`UnknownMethodError` listing valid names."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise UnknownMethodError(f"unknown method {name!r}; valid methods: {', '.join(available_methods())}") from None
