from django import forms

from bti_eval.core.fields import CountFormField, SeedFormField


class CatalogUploadForm(forms.Form):
    file = forms.FileField(help_text="A UTF-8 CSV with a header row, or JSON Lines.")
    name = forms.SlugField(max_length=100, help_text="Letters, digits, - and _; pairs get the source catalog:<name>.")
    format = forms.ChoiceField(choices=[("", "from the extension"), ("csv", "CSV"), ("jsonl", "JSONL")], required=False)
    id_column = forms.CharField(max_length=200)
    text_column = forms.CharField(max_length=200, help_text="The description.")
    title_column = forms.CharField(max_length=200, required=False)


class EmbedForm(forms.Form):
    model = forms.CharField(max_length=500, required=False, help_text="A model dir; empty = the default model.")


class MineForm(forms.Form):
    model = forms.CharField(max_length=500, required=False)
    seeds = CountFormField(min_value=1, required=False, help_text="Random seed items (or give ids below).")
    seed_ids = forms.CharField(required=False, help_text="Comma-separated item ids.")
    random_seed = SeedFormField(initial=0)
    k = forms.IntegerField(min_value=1, max_value=100, initial=1, help_text="Neighbours per seed (ranks 1..k).")
    only_rank_k = forms.BooleanField(required=False, help_text="Keep only the pairs at rank k.")

    def clean(self):
        data = super().clean()
        ids = [i.strip() for i in (data.get("seed_ids") or "").split(",") if i.strip()]
        data["seed_ids"] = ids
        if not data.get("seeds") and not ids:
            raise forms.ValidationError("Give a number of seeds or seed ids.")
        return data


class TrainForm(forms.Form):
    model = forms.CharField(max_length=500, required=False, help_text="Start from this model dir; empty = default.")
    epochs = CountFormField(min_value=1, initial=1)
    max_steps = CountFormField(min_value=1, required=False)
    batch_size = CountFormField(min_value=2, initial=16)
    holdout = forms.FloatField(min_value=0.0, max_value=0.99, initial=0.0)
    seed = SeedFormField(initial=0)
