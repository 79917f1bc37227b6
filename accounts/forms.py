"""Input of the subscriber pages: the lookup box and timeline notes."""

from django import forms


class SubscriberSearchForm(forms.Form):
    q = forms.CharField(
        label="Account number, name, login, address or IP",
        max_length=200,
        required=False,
        help_text="A name matches from its start: “Harbour B” finds Harbour Bakery.",
        widget=forms.TextInput(attrs={"type": "search", "size": 40, "autofocus": True}),
    )
    at = forms.DateTimeField(
        label="IP in use at (optional)",
        required=False,
        help_text="Only for an IP address: who held it at that time (UTC).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Add a note", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class StatusChangeForm(forms.Form):
    """Suspend, reinstate, terminate, restrict or record a password reset: each
    says why and is confirmed on its own page."""

    reason = forms.CharField(
        label="Reason (the customer is told this)",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )
    confirm = forms.BooleanField(label="I confirm this change", required=True)
