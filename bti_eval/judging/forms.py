"""The researcher's forms: invite one judge, several at once (names or a CSV), a re-issued link; a study link.

Names go through Django's CharField, which refuses NUL characters with a clear message (PostgreSQL
cannot store them) before any service runs; the services check again for every other caller.
"""

from __future__ import annotations

import csv
import io

from django import forms

from bti_eval.judging.services.invites import MAX_BULK_INVITES, MAX_NAME_LENGTH
from bti_eval.judging.services.studies import MAX_ITEMS_PER_PARTICIPANT, MAX_QUOTA, MAX_TIME_LIMIT_MINUTES

EXPIRY_CHOICES = [("24", "1 day"), ("72", "3 days"), ("168", "1 week"), ("720", "30 days"), ("never", "never")]
DEFAULT_EXPIRY = "72"
MAX_CSV_BYTES = 1024 * 1024


def _hours(value: str) -> int | None:
    return None if value == "never" else int(value)


class ExpiryField(forms.TypedChoiceField):
    """How long a link stays valid: hours, or None for never."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=EXPIRY_CHOICES,
            coerce=_hours,
            empty_value=int(DEFAULT_EXPIRY),
            required=False,
            initial=DEFAULT_EXPIRY,
            label="Link valid for",
            error_messages={"invalid_choice": "Choose how long the invite stays valid."},
            **kwargs,
        )


class InviteForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_NAME_LENGTH,
        required=False,
        label="Judge's name",
        help_text="Empty: “Judge N”.",
    )
    expires_in_hours = ExpiryField()


class ReissueForm(forms.Form):
    expires_in_hours = ExpiryField()


class BulkInviteForm(forms.Form):
    """Several judges: names one per line, and/or a CSV file (a ``name`` column, or else its first
    column). Blank lines are skipped; a CSV row whose name cell is empty becomes "Judge N"."""

    names = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 30}),
        required=False,
        strip=False,
        label="Names, one per line",
    )
    csv_file = forms.FileField(
        required=False,
        label="…or a CSV file",
        help_text="A column called “name”, or else the first column.",
    )
    expires_in_hours = ExpiryField()

    def clean_names(self) -> list[str]:
        names = []
        for line, name in enumerate(self.cleaned_data["names"].splitlines(), start=1):
            name = name.strip()
            if len(name) > MAX_NAME_LENGTH:
                raise forms.ValidationError(f"Line {line}: a name must be at most {MAX_NAME_LENGTH} characters.")
            if name:
                names.append(name)
        return names

    def clean_csv_file(self) -> list[str]:
        upload = self.cleaned_data.get("csv_file")
        if not upload:
            return []
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(f"The CSV file is larger than {MAX_CSV_BYTES // 1024} KB.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The CSV file is not UTF-8 text.") from None
        if "\x00" in text:
            raise forms.ValidationError("The CSV file contains NUL characters; names must not.")
        try:
            rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
        except csv.Error as exc:
            raise forms.ValidationError(f"The CSV file could not be read: {exc}.") from None
        if not rows:
            raise forms.ValidationError("The CSV file has no rows.")
        header = [cell.strip().lower() for cell in rows[0]]
        column = header.index("name") if "name" in header else 0
        if "name" in header:
            rows = rows[1:]
        names = []
        for number, row in enumerate(rows, start=2 if "name" in header else 1):
            name = row[column].strip() if column < len(row) else ""
            if len(name) > MAX_NAME_LENGTH:
                raise forms.ValidationError(f"Row {number}: a name must be at most {MAX_NAME_LENGTH} characters.")
            names.append(name)
        return names

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        cleaned["all_names"] = cleaned.get("names", []) + cleaned.get("csv_file", [])
        if not cleaned["all_names"]:
            raise forms.ValidationError("Type at least one name, one per line, or choose a CSV file.")
        if len(cleaned["all_names"]) > MAX_BULK_INVITES:
            raise forms.ValidationError(f"At most {MAX_BULK_INVITES} judges can be invited at once.")
        return cleaned


class StudyLinkForm(forms.Form):
    """A crowd study link (``services.studies.study_link_create`` checks the rules between fields)."""

    platform = forms.ChoiceField(
        choices=[("prolific", "Prolific"), ("mturk", "MTurk (ExternalQuestion)"), ("generic", "Another site")],
        error_messages={"invalid_choice": "Choose Prolific, MTurk or another site.", "required": "Choose a platform."},
    )
    label = forms.CharField(max_length=MAX_NAME_LENGTH, required=False, help_text="For you, e.g. “pilot”.")
    completion_code = forms.CharField(
        max_length=64,
        required=False,
        help_text="Prolific: the study's completion code. Empty: a random code.",
    )
    quota = forms.IntegerField(
        min_value=1, max_value=MAX_QUOTA, required=False, label="Participants at most", help_text="Empty: no cap."
    )
    items_per_participant = forms.IntegerField(
        min_value=1,
        max_value=MAX_ITEMS_PER_PARTICIPANT,
        required=False,
        help_text="k-per-item rounds: explanations per participant, least-rated first. Empty: all.",
    )
    time_limit_minutes = forms.IntegerField(
        min_value=1,
        max_value=MAX_TIME_LIMIT_MINUTES,
        required=False,
        label="Time limit (minutes)",
        help_text="From arrival. Empty: none.",
    )
    screen_out_failed_controls = forms.BooleanField(
        required=False,
        label="Screen out participants who fail the control items",
        help_text="They get the screen-out code instead of the completion code (needs control items).",
    )
    screen_out_code = forms.CharField(max_length=64, required=False, label="Screen-out code")
    participant_param = forms.CharField(
        max_length=40, required=False, label="Participant parameter", help_text="Another site: e.g. “pid”."
    )
    session_param = forms.CharField(
        max_length=40,
        required=False,
        label="Session parameter",
        help_text="Another site, optional: lets a participant go on from another browser.",
    )
