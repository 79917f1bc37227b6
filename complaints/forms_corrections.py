"""Forms of the staff corrections of mailings: which mailings or reports were
picked. They validate input only; the reason and the confirmation are the
desk's ReasonForm, and the views hand cleaned data to the services."""

from django import forms


class _Ids(forms.TypedMultipleChoiceField):
    """Ids picked from a list; any submitted id is a valid choice (the services
    check the rows exist and may be corrected)."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, choices=(), **kwargs)

    def valid_value(self, value) -> bool:
        return str(value).isdigit()


class MergePickForm(forms.Form):
    sources = _Ids(
        label="Mailings to merge into this one",
        error_messages={"required": "Choose the mailing(s) to merge into this one."},
    )


class ReportsPickForm(forms.Form):
    complaint = _Ids(required=False)
    bounce = _Ids(required=False)
    target = forms.IntegerField(label="Move to mailing", required=False, min_value=1)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("complaint") and not cleaned.get("bounce"):
            raise forms.ValidationError(
                "Tick the complaints or bounces to move in the tables first."
            )
        return cleaned
