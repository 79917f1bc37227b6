"""Staff forms for triage and mailing decisions. They validate input only; the
views hand cleaned data to services."""

from django import forms


class ReasonForm(forms.Form):
    """For every decision that must say why (suspend, reject, revoke...)."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        strip=True,
    )
    confirm = forms.BooleanField(
        label="I have checked the evidence and confirm", required=True
    )


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(label="Confirm", required=True)


class LinkForm(forms.Form):
    mailing = forms.IntegerField(label="Mailing number", min_value=1)


class BulkActionForm(forms.Form):
    # Starts at "choose an action": a destructive one is never the default.
    action = forms.ChoiceField(
        choices=[
            ("", "Choose an action…"),
            ("dismiss", "Dismiss"),
            ("duplicate", "Mark duplicate"),
            ("link", "Link to the mailing below"),
        ],
        label="With the selected complaints",
    )
    complaints = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)
    mailing = forms.IntegerField(
        label="Mailing number (to link)", required=False, min_value=1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any submitted id is a valid choice; the view loads only existing rows.
        submitted = (
            self.data.getlist("complaints") if hasattr(self.data, "getlist") else []
        )
        self.fields["complaints"].choices = [(value, value) for value in submitted]
