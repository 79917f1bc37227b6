"""Input of the subscriber pages: the lookup box, timeline notes and status
changes, with what each status change's button and confirmation page say."""

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


# What staff may do to an account: the button's label, and what the
# confirmation page says will happen.
STATUS_CHANGES = {
    "suspend": (
        "Suspend",
        "The account can no longer send mail. The customer is sent a suspension notice.",
    ),
    "reinstate": (
        "Reinstate",
        "The account can send again. The customer is sent a reinstatement notice.",
    ),
    "terminate": (
        "Terminate",
        "The account is closed for good; its evidence is kept. "
        "The customer is sent a termination notice.",
    ),
    "restrict": (
        "Restrict (compromised)",
        "The account cannot send until its password is reset. "
        "The customer is sent the security advice.",
    ),
    "password_reset": (
        "Record password reset",
        "The restricted account may send again.",
    ),
}
