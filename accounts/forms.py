from django import forms


class SubscriberSearchForm(forms.Form):
    q = forms.CharField(
        label="Account number, name, login, address or IP",
        max_length=200,
        required=False,
    )
    at = forms.DateTimeField(
        label="IP in use at (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
