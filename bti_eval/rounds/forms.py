"""The round creation form (researcher page)."""

from __future__ import annotations

from django import forms

from bti_eval.pairs.selectors import pair_sources
from bti_eval.rounds.models import DEFAULT_METHODS
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "all pairs")] + [
            (s["source"], f"{s['source'] or '(no source)'} ({s['pairs']} pairs)") for s in pair_sources()
        ]
        self.fields["methods"].choices = method_choices()
