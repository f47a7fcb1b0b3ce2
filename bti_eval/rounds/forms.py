"""The round creation form (researcher page)."""

from __future__ import annotations

from django import forms

from bti_eval.pairs.selectors import pair_sources
from bti_eval.rounds.models import DEFAULT_METHODS, EvaluationRound
from bti_eval.rounds.services import MAX_TOP_K


def method_choices() -> list[tuple[str, str]]:
    import explainers

    return [(m, m) for m in explainers.available_methods()]


class RoundCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    source = forms.ChoiceField(required=False, label="Pairs", help_text="All pairs, or the pairs of one source.")
    limit = forms.IntegerField(
        required=False,
        min_value=1,
        label="Sample size",
        help_text="Optional: draw this many of those pairs at random (with the seed below).",
    )
    methods = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, initial=list(DEFAULT_METHODS))
    model = forms.CharField(
        required=False,
        max_length=500,
        help_text="A model directory on the server; empty = the default model (all-MiniLM-L6-v2).",
    )
    top_k = forms.IntegerField(initial=2, min_value=1, max_value=MAX_TOP_K, help_text="Word pairs per explanation.")
    seed = forms.IntegerField(initial=0)
    design = forms.ChoiceField(
        required=False,
        choices=EvaluationRound.Design.choices,
        initial=EvaluationRound.Design.ALL,
        label="Assignment design",
        help_text="Every judge rates everything (the paper's design), or k judges per explanation with balanced loads.",
    )
    judges_per_explanation = forms.IntegerField(
        required=False, min_value=1, label="Judges per explanation (k)", help_text="For the k-per-item design."
    )
    control_items = forms.IntegerField(
        required=False,
        initial=0,
        min_value=0,
        label="Control items",
        help_text="Degraded explanations of real pairs (random words and pairs) that every judge rates blind; "
        "judges who do not rate them lower are flagged.",
    )
    too_fast_seconds = forms.FloatField(
        required=False,
        min_value=0,
        label="Too fast (seconds)",
        help_text="Flag judges whose median time per rating is below this; empty = the site default.",
    )
    auto_metrics = forms.BooleanField(
        required=False,
        label="Automatic metrics",
        help_text="Compute plausibility, faithfulness and sanity once the explanations are done.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "all pairs")] + [
            (s["source"], f"{s['source'] or '(no source)'} ({s['pairs']} pairs)") for s in pair_sources()
        ]
        self.fields["methods"].choices = method_choices()
