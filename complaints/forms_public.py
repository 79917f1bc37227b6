"""Forms of the public pages: filing a report and checking its status.

Messages are written for people who are not mail administrators. Errors are tied
to their fields (``aria-describedby``, ``aria-invalid``) so screen readers read
them with the field.
"""

import re

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from complaints.ingest.webform import not_mail_because

# Letters, digits and the dash: what a reference is made of (C-XXXX-XXXX).
_REFERENCE_RE = re.compile(r"^[A-Z0-9-]{4,16}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class AccessibleFormMixin:
    """Points each field at its help text and, once validated, at its errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = self._help_id(name)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            widget = self.fields[name].widget
            ids = [self._error_id(name)]
            if self.fields[name].help_text:
                ids.append(self._help_id(name))
            widget.attrs["aria-describedby"] = " ".join(ids)
            widget.attrs["aria-invalid"] = "true"

    def _help_id(self, name: str) -> str:
        return f"{self[name].auto_id}_helptext"

    def _error_id(self, name: str) -> str:
        return f"{self[name].auto_id}_error"


class ReportForm(AccessibleFormMixin, forms.Form):
    name = forms.CharField(
        label="Your name (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We send your reference number here. We never pass it to the "
        "sender of the message.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    what_happened = forms.CharField(
        label="What happened?",
        max_length=10_000,
        help_text="For example: “I never signed up for this and got it three times "
        "this week.”",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    headers = forms.CharField(
        label="Paste the message's full headers",
        required=False,
        strip=False,
        help_text="In most mail programs: open the message, then “Show original”, "
        "“View source” or “Message source”, and copy everything.",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )
    no_headers = forms.BooleanField(
        label="I cannot get the headers: send my description only",
        required=False,
        help_text="We will still read it, but without the message we can rarely "
        "find who sent it.",
    )
    eml = forms.FileField(
        label="Or upload the message as a file (.eml)",
        required=False,
        help_text="Save the message from your mail program (“Save as” or "
        "“Download message”) and choose the file here.",
        widget=forms.ClearableFileInput(attrs={"accept": ".eml,message/rfc822"}),
    )
    # A field people never see and bots fill in (hidden by CSS, out of the tab
    # order and of the accessibility tree).
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read at call time, so the limit follows the settings.
        self.max_bytes = settings.ABUSE_REPORT_MAX_BYTES
        self.is_not_mail = False

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if _CONTROL_RE.search(name):
            raise forms.ValidationError("Please give your name on one line.")
        return name

    def clean_headers(self) -> str:
        text = self.cleaned_data["headers"]
        if len(text.encode()) > self.max_bytes:
            raise forms.ValidationError(self.size_error(len(text.encode())))
        return text if text.strip() else ""

    def clean_eml(self) -> bytes:
        upload = self.cleaned_data["eml"]
        if not upload:
            return b""
        if upload.size > self.max_bytes:
            raise forms.ValidationError(self.size_error(upload.size))
        data = upload.read(self.max_bytes + 1)
        if not data.strip():
            raise forms.ValidationError("The file is empty.")
        return data

    def clean_website(self) -> str:
        if self.cleaned_data["website"]:
            raise forms.ValidationError("Please leave this field empty.")
        return ""

    def clean(self):
        cleaned = super().clean()
        has_headers = bool(cleaned.get("headers"))
        has_file = bool(cleaned.get("eml"))
        if self.has_error("headers") or self.has_error("eml"):
            return cleaned
        if not has_headers and not has_file:
            if not cleaned.get("no_headers"):
                self.add_error(
                    "headers",
                    "Please paste the message's headers here, or upload the "
                    "message as a file below. If you cannot get them, tick "
                    "“send my description only”.",
                )
        elif has_headers and has_file:
            self.add_error(
                "eml",
                "Please either paste the headers or upload the file, not both.",
            )
        else:
            self._refuse_non_mail(cleaned, "headers" if has_headers else "eml")
        return cleaned

    def _refuse_non_mail(self, cleaned, name: str) -> None:
        """Text that is no mail at all is refused, with the way to get the
        headers shown beside the form (nothing is stored)."""
        data = cleaned[name]
        why = not_mail_because(data.encode() if isinstance(data, str) else data)
        if why:
            self.is_not_mail = True
            self.add_error(
                name,
                f"This does not look like an email message: {why}. See “How to "
                "find a message's headers” below, or tick “send my description "
                "only”.",
            )

    def size_error(self, size: int) -> str:
        return (
            f"The message is {filesizeformat(size)}; the most we accept is "
            f"{filesizeformat(self.max_bytes)}. Paste only the headers (the part "
            "before the first empty line) instead."
        )


class StatusForm(AccessibleFormMixin, forms.Form):
    reference = forms.CharField(
        label="Reference number",
        max_length=20,
        help_text="It looks like C-ABCD-2345 and is in the email we sent you.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "size": 16}
        ),
    )
    email = forms.EmailField(
        label="The email address you reported from",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_reference(self) -> str:
        reference = re.sub(r"\s+", "", self.cleaned_data["reference"]).upper()
        if not _REFERENCE_RE.match(reference):
            raise forms.ValidationError(
                "A reference has letters, digits and dashes, like C-ABCD-2345."
            )
        return reference
