"""The options of a new round, each stated once: its default, bounds, label and help text.

The creation form (``forms.RoundCreateForm``) and the API's create input
(``apis.RoundListCreateApi.InputSerializer``) build their fields from this table, so that the page
and the API cannot drift apart. The defaults are the model's (``EvaluationRound``), the bounds the
services' (``services.round_create`` checks every value again); the choices stay with the model
(``EvaluationRound.Design``, ``dtype``, ``pooling``). What differs between a form and a serializer
(required or not, null, blank, error messages) stays where each field is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bti_eval.rounds.models import DEFAULT_PAIRS_SHOWN, MAX_PAIRS_SHOWN, EvaluationRound
from bti_eval.rounds.services import MAX_JUDGES_PER_EXPLANATION, MAX_TOO_FAST_SECONDS, MAX_TOP_K
from explainers.modeldir import POOLING_MODES


@dataclass(frozen=True)
class RoundOption:
    """One option of a new round: ``name`` (the model's field, the API's and the form's), the form's
    ``label``, the ``help_text`` both show, and its bounds (None: none beyond the field's own)."""

    name: str
    label: str
    help_text: str
    min_value: int | float | None = None
    max_value: int | float | None = None

    @property
    def default(self) -> Any:
        """The model's default for a new round (None where the field is empty by default)."""
        return EvaluationRound._meta.get_field(self.name).get_default()

    def bounds(self) -> dict[str, int | float]:
        return {k: v for k, v in (("min_value", self.min_value), ("max_value", self.max_value)) if v is not None}

    def form_field(self, field_class: type, **kwargs: Any) -> Any:
        """A field of the creation form: the default as its initial value, the bounds, label and help text."""
        return field_class(
            initial=self.default, label=self.label, help_text=self.help_text, **{**self.bounds(), **kwargs}
        )

    def api_field(self, field_class: type, **kwargs: Any) -> Any:
        """An optional field of the API's create input: the default, the bounds and the help text."""
        return field_class(
            required=False, default=self.default, help_text=self.help_text, **{**self.bounds(), **kwargs}
        )


DTYPE = RoundOption(
    "dtype",
    label="Precision",
    help_text="Precision of the model's forward pass: fp32, or bf16 / fp16 autocast for a faster pass on a GPU "
    "(pooling, cosine and saliency stay float32; BTI's word ranks stay within Spearman 0.99 of fp32 with bf16).",
)
POOLING = RoundOption(
    "pooling",
    label="Pooling",
    help_text="How a paragraph's vector is pooled: the model's own (empty: a sentence-transformers directory's "
    f"Pooling module, else the mean over content tokens, the paper's Eq. 1), or {', '.join(POOLING_MODES)}.",
)
TOP_K = RoundOption(
    "top_k",
    label="Score clusters kept (top_k)",
    help_text="TopWords keeps every word pair of the k best MeanShift clusters of pair scores (the paper's "
    "top_k = 2); not a number of pairs.",
    min_value=1,
    max_value=MAX_TOP_K,
)
PAIRS_SHOWN = RoundOption(
    "pairs_shown",
    label="Pairs shown at most",
    help_text="Rows of matched words a judge sees at most per explanation, the same for every method (same-word "
    "pairs merged, best first; the paper's Fig. 3 shows 2-4); the full selection is kept and exported. "
    f"Without a value: {DEFAULT_PAIRS_SHOWN}.",
    min_value=1,
    max_value=MAX_PAIRS_SHOWN,
)
DESIGN = RoundOption(
    "design",
    label="Assignment design",
    help_text="Every judge rates everything (all: the paper's design), k judges per explanation with balanced "
    "loads (k-per-item), or pairwise: judges choose the better of two methods' explanations of a pair, shown side "
    "by side, for every method pair of every pair (k judges each, or every judge without k; Bradley–Terry results).",
)
JUDGES_PER_EXPLANATION = RoundOption(
    "judges_per_explanation",
    label="Judges per explanation (k)",
    help_text="k, for the k-per-item design; for pairwise, judges per pair and method pair (without a value: every "
    "judge compares everything).",
    min_value=1,
    max_value=MAX_JUDGES_PER_EXPLANATION,
)
CONTROL_ITEMS = RoundOption(
    "control_items",
    label="Control items",
    help_text="Degraded explanations of real pairs (random words and pairs), added at opening, that every judge "
    "rates blind; judges who do not rate them lower are flagged.",
    min_value=0,
)
TOO_FAST_SECONDS = RoundOption(
    "too_fast_seconds",
    label="Too fast (seconds)",
    help_text="Flag judges whose median time per rating is below this many seconds; without a value: the site default.",
    min_value=0,
    max_value=MAX_TOO_FAST_SECONDS,
)
AUTO_METRICS = RoundOption(
    "auto_metrics",
    label="Automatic metrics",
    help_text="Compute plausibility, faithfulness and sanity once the explanations are done.",
)
