"""The study-plan form of the results page (``results.planning``): lists of numbers typed as text."""

from __future__ import annotations

import re

from django import forms

from bti_eval.results import planning

PAGE_MAX_SIMULATIONS = 2000
PAGE_DEFAULT_SIMULATIONS = 200
PAGE_MAX_VALUES = 8  # numbers per list
# Differences ranked per request (``planning.simulation_work``): about half a minute on one core.
PAGE_MAX_WORK = 150_000_000


class NumberListField(forms.CharField):
    """Numbers separated by spaces or commas ("2, 3 5") → a list of ``number`` (int or float)."""

    def __init__(self, *, number: type = int, **kwargs):
        self.number = number
        super().__init__(max_length=200, **kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        if len(parts) > PAGE_MAX_VALUES:
            raise forms.ValidationError(f"Give at most {PAGE_MAX_VALUES} numbers.")
        try:
            return [self.number(p) for p in parts]
        except ValueError:
            kind = "whole numbers" if self.number is int else "numbers"
            raise forms.ValidationError(f"Give {kind} separated by spaces or commas.") from None


def _numbers(values) -> str:
    return " ".join(str(v) for v in values)


class PlanForm(forms.Form):
    effects = NumberListField(
        number=float,
        required=False,
        label="MOS differences",
        help_text="Empty: the differences between neighbouring methods in this round.",
    )
    judges = NumberListField(label="Judges", initial=_numbers(planning.DEFAULT_JUDGES))
    pairs = NumberListField(label="Pairs", initial=_numbers(planning.DEFAULT_PAIRS))
    simulations = forms.IntegerField(
        min_value=10, max_value=PAGE_MAX_SIMULATIONS, initial=PAGE_DEFAULT_SIMULATIONS, label="Simulations"
    )
    seed = forms.IntegerField(min_value=0, max_value=2**63 - 1, initial=0, label="Seed")
    exclude_flagged = forms.BooleanField(required=False, label="Without flagged judges")

    def settings(self) -> dict:
        """The validated values as ``planning.plan_study`` keywords."""
        data = self.cleaned_data
        return {
            "effects": data["effects"] or None,
            "judges": data["judges"],
            "pairs": data["pairs"],
            "simulations": data["simulations"],
            "seed": data["seed"],
            "exclude_flagged": data["exclude_flagged"],
            "max_work": PAGE_MAX_WORK,
        }
