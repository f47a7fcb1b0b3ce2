from django import forms


class ApiTokenForm(forms.Form):
    """A new API token's name. Django's CharField refuses NUL characters with a clear message."""

    name = forms.CharField(
        max_length=100,
        required=False,
        label="What is it for?",
        help_text="e.g. “analysis notebook” or “lab server”; shown in the list below.",
    )
