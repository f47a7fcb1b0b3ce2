"""The round creation form (researcher page).

The fields come in the order a researcher decides them: which pairs, which methods on which
model, how judges are assigned, quality controls, then the optional extras (automatic metrics)
last. The form checks what it can itself, so that each error sits beside its field, under the
field's label, in words (never an internal field name); a service error about one input comes
back with ``extra["field"]`` and is placed beside that field too (see ``add_service_error``).
Only errors about no single field appear at the top.
"""

from __future__ import annotations

from django import forms
from django.template.defaultfilters import pluralize

from bti_eval.core.exceptions import ApplicationError
from bti_eval.core.fields import CountFormField, SeedFormField
from bti_eval.pairs.selectors import pair_sources
from bti_eval.rounds import options
from bti_eval.rounds.models import EvaluationRound, default_methods

# Service field names (the API's) that this form calls differently.
SERVICE_FIELDS = {"pairs": "source"}


def method_choices() -> list[tuple[str, str]]:
    """Every usable method of the registry: a built-in by its name, a plugin's with its title and
    distribution, so that a researcher sees where it comes from."""
    from explainers.registry import all_methods

    return [
        (m.name, f"{m.name}: {m.title} (plugin {m.source})" if m.is_plugin else m.name) for m in all_methods().values()
    ]


class RoundCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    source = forms.ChoiceField(required=False, label="Pairs", help_text="All pairs, or the pairs of one source.")
    limit = CountFormField(
        required=False,
        min_value=1,
        label="Sample size",
        help_text="Optional: draw this many of those pairs at random (with the seed below).",
    )
    methods = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, initial=default_methods)
    model = forms.CharField(
        required=False,
        max_length=500,
        help_text="A model directory on the server; empty = the default model (all-MiniLM-L6-v2).",
    )
    pooling = options.POOLING.form_field(
        forms.ChoiceField, required=False, choices=EvaluationRound._meta.get_field("pooling").choices
    )
    dtype = options.DTYPE.form_field(
        forms.ChoiceField, required=False, choices=EvaluationRound._meta.get_field("dtype").choices
    )
    top_k = options.TOP_K.form_field(forms.IntegerField)
    pairs_shown = options.PAIRS_SHOWN.form_field(forms.IntegerField, required=False)
    seed = SeedFormField(initial=0)
    design = options.DESIGN.form_field(forms.ChoiceField, required=False, choices=EvaluationRound.Design.choices)
    judges_per_explanation = options.JUDGES_PER_EXPLANATION.form_field(CountFormField, required=False)
    control_items = options.CONTROL_ITEMS.form_field(CountFormField, required=False)
    too_fast_seconds = options.TOO_FAST_SECONDS.form_field(forms.FloatField, required=False)
    auto_metrics = options.AUTO_METRICS.form_field(forms.BooleanField, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sources = {s["source"]: s["pairs"] for s in pair_sources()}
        self.fields["source"].choices = [("", "all pairs")] + [
            (name, f"{name or '(no source)'} ({n} pair{pluralize(n)})") for name, n in self._sources.items()
        ]
        self.fields["methods"].choices = method_choices()
        # Optional extras last, whatever fields are added above.
        self.order_fields([name for name in self.fields if name != "auto_metrics"] + ["auto_metrics"])

    def clean(self):
        data = super().clean()
        if data.get("design") == EvaluationRound.Design.K_PER_ITEM and data.get("judges_per_explanation") is None:
            if "judges_per_explanation" not in self.errors:
                self.add_error(
                    "judges_per_explanation", "Give k, the number of judges per explanation, for the k-per-item design."
                )
        controls, source = data.get("control_items"), data.get("source")
        if controls and source is not None and "limit" not in self.errors:
            available = self._sources.get(source, 0) if source else sum(self._sources.values())
            n_pairs = min(available, data["limit"]) if data.get("limit") else available
            if controls > n_pairs:
                self.add_error(
                    "control_items",
                    f"At most the number of pairs in the round ({n_pairs}): each control degrades a different pair.",
                )
        return data

    def add_service_error(self, exc: ApplicationError) -> None:
        """Show a service's error beside the field it names (``extra["field"]``), else at the top."""
        field = SERVICE_FIELDS.get(exc.extra.get("field"), exc.extra.get("field"))
        self.add_error(field if field in self.fields else None, exc.message)


class ImportedMethodForm(forms.Form):
    """Upload explanations computed elsewhere into a draft round (``rounds.imported``)."""

    name = forms.CharField(
        max_length=64,
        label="Method name",
        help_text="Lower-case letters and digits, words joined by hyphens (e.g. shap-partition); not a built-in "
        "method's name. Judges never see it.",
    )
    file = forms.FileField(
        label="Explanations (JSON Lines)",
        help_text='One explanation a line: {"id": pair id, "words": [[...], [...]], "pairs": [...]}, '
        "optionally with its similarity. Check it first with: python -m explainers validate FILE --pairs PAIRS.jsonl",
    )

    def add_service_error(self, exc: ApplicationError) -> None:
        """A service's error beside the field it names (``extra["field"]``), else at the top."""
        field = exc.extra.get("field")
        if exc.extra.get("errors"):
            message = exc.message.splitlines()[0]  # the lines' errors are listed beside the form
        else:
            message = exc.message
        self.add_error(field if field in self.fields else None, message)
