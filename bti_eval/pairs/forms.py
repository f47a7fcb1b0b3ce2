"""Forms of the pair import pages: the upload, then the column mapping."""

from __future__ import annotations

from django import forms

from bti_eval.pairs import parsing

FIELD_LABELS = {
    "text_a": "Paragraph A (text_a)",
    "text_b": "Paragraph B (text_b)",
    "external_id": "External id",
    "title_a": "Title A",
    "title_b": "Title B",
}


class PairUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row, or JSON Lines (one object a line). UTF-8.")
    source = forms.CharField(max_length=200, help_text="Where these pairs come from, e.g. 'fashion-2024'.")
    format = forms.ChoiceField(
        choices=[("", "from the file name"), ("csv", "CSV"), ("jsonl", "JSON Lines")], required=False
    )


class PairMappingForm(forms.Form):
    """One select per field, offering the file's columns (optional fields may stay unmapped)."""

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "(none)")] + [(c, c) for c in columns]
        for name in parsing.FIELDS:
            self.fields[name] = forms.ChoiceField(
                choices=choices, required=name in parsing.REQUIRED_FIELDS, label=FIELD_LABELS[name]
            )

    def mapping(self) -> dict[str, str | None]:
        return {name: self.cleaned_data.get(name) or None for name in parsing.FIELDS}
