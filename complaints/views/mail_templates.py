"""The wording of the mail the desk sends, edited by abuse staff with a preview
(notices to subscribers, acknowledgments to complainants). Thin: the form, one
service, render or redirect."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template import TemplateSyntaxError
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from abusedesk.roles import abuse_required
from accounts.models import Action, MailTemplate, Subscriber
from accounts.notices import MAILS, mail_render_source, mail_source
from accounts.services.mail_templates import mail_template_reset, mail_template_save
from complaints.models import Complaint, Mailing, Strike


class MailTemplateForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=255, strip=False)
    body = forms.CharField(
        label="Body",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true"}),
    )


@require_GET
@abuse_required
def mail_template_list(request):
    overridden = dict(MailTemplate.objects.values_list("name", "updated_at"))
    rows = [
        {
            "slug": name.replace("/", "."),
            "label": label,
            "updated_at": overridden.get(name),
        }
        for name, label in MAILS.items()
    ]
    return render(request, "complaints/mail_template_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@abuse_required
def mail_template_edit(request, name: str):
    name = name.replace(".", "/")
    if name not in MAILS:
        raise Http404("No such mail.")
    subject, body, override = mail_source(name=name)
    form = MailTemplateForm(
        request.POST or None, initial={"subject": subject, "body": body}
    )
    preview = None
    if request.method == "POST" and "reset" in request.POST:
        if mail_template_reset(name=name):
            messages.success(request, "Back to the shipped wording.")
        return redirect("complaints:mail_template_edit", name=name.replace("/", "."))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "save" in request.POST:
            try:
                mail_template_save(
                    name=name,
                    subject=data["subject"],
                    body=data["body"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Saved: the next mail uses this wording.")
                return redirect(
                    "complaints:mail_template_edit", name=name.replace("/", ".")
                )
        try:
            preview = mail_render_source(
                subject=data["subject"], body=data["body"], context=_sample()
            )
        except TemplateSyntaxError as error:
            form.add_error(None, f"Template error: {error}")
    context = {
        "name": name,
        "slug": name.replace("/", "."),
        "label": MAILS[name],
        "form": form,
        "override": override,
        "preview": preview,
    }
    return render(request, "complaints/mail_template_edit.html", context)


def _sample() -> dict:
    """Made-up rows, never saved, to preview a mail with."""
    now = timezone.now()
    subscriber = Subscriber(
        account_number="A1001", name="Example Shop Ltd", contact_email="shop@x.example"
    )
    mailing = Mailing(
        pk=1234,
        subscriber=subscriber,
        subject="Spring sale: 40% off everything",
        first_seen=now,
        last_seen=now,
    )
    reason = (
        'Strike 1 of 3: Mailing #1234 ("Spring sale: 40% off everything") drew '
        "3 complaints from its recipients."
    )
    return {
        "subscriber": subscriber,
        "mailing": mailing,
        "strike": Strike(mailing=mailing, subscriber=subscriber, issued_at=now),
        "action": Action(
            subscriber=subscriber,
            kind=Action.Kind.WARNING,
            reason=reason,
            created_at=now,
        ),
        "complaint": Complaint(reference="C-ABCD-2345", received_at=now),
        "status_url": "https://abuse.example.net/report/status/",
    }
