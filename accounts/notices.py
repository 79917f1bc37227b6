"""The text of the mail the desk sends: subscriber notices and complainants'
acknowledgments, from staff's own wording (MailTemplate) when there is one, else
from the shipped template files.

One place renders a mail, for the message that sends it, for the preview staff
see while editing, and for the pages that show what the customer was told.
Reads only; no writes.
"""

import re

from django.template import Context, Engine, Template
from django.template.loader import get_template, render_to_string

from abusedesk.branding import isp_context
from accounts.models import Action, MailTemplate

# Every mail the desk sends, by template name, with what it is for.
MAILS = {
    "accounts/email/warning": "Warning (first strike)",
    "accounts/email/final_warning": "Final warning (one strike from suspension)",
    "accounts/email/suspension": "Suspension notice",
    "accounts/email/termination": "Termination notice",
    "accounts/email/reinstatement": "Reinstatement notice",
    "accounts/email/compromise_advice": "Security advice (compromised account)",
    "complaints/email/acknowledgment": "Acknowledgment to a complainant",
}
_WRAPPER = re.compile(r"^\{% autoescape off %\}|\{% endautoescape %\}\s*$")
# Plain text mail: nothing is HTML-escaped, as in the shipped files.
_ENGINE = Engine(autoescape=False)


def mail_render(
    *, name: str, context: dict, overrides: dict | None = None
) -> tuple[str, str]:
    """Subject line and body of mail ``name`` for ``context`` (the ISP's name
    and contact are added). ``overrides`` (from ``mail_overrides``) saves the
    lookup when many are rendered."""
    if overrides is None:
        override = MailTemplate.objects.filter(name=name).first()
    else:
        override = overrides.get(name)
    if override is not None:
        return mail_render_source(
            subject=override.subject, body=override.body, context=context
        )
    context = {**isp_context(), **context}
    subject = render_to_string(f"{name}_subject.txt", context)
    body = render_to_string(f"{name}.txt", context)
    return " ".join(subject.split()), body


def mail_render_source(*, subject: str, body: str, context: dict) -> tuple[str, str]:
    """Render staff's wording (saved, or being previewed) for ``context``."""
    context = Context({**isp_context(), **context})
    rendered = Template(subject, engine=_ENGINE).render(context)
    return " ".join(rendered.split()), Template(body, engine=_ENGINE).render(context)


def mail_overrides() -> dict[str, MailTemplate]:
    """Staff's wording in force, by mail name (one query)."""
    return {template.name: template for template in MailTemplate.objects.all()}


def mail_source(*, name: str) -> tuple[str, str, MailTemplate | None]:
    """What staff edit: the subject and body template text in force, and the
    override row when staff's wording is in force."""
    override = MailTemplate.objects.filter(name=name).first()
    if override is not None:
        return override.subject, override.body, override
    subject = get_template(f"{name}_subject.txt").template.source
    body = get_template(f"{name}.txt").template.source
    return _WRAPPER.sub("", subject).strip(), _WRAPPER.sub("", body), None


def mail_template_compile(*, source: str) -> Template:
    """Compile staff's text as the renderer will; raises TemplateSyntaxError."""
    return Template(source, engine=_ENGINE)


def notice_render(*, action: Action, overrides: dict | None = None) -> tuple[str, str]:
    """The notice's subject line and body, from ``action.notice_template``."""
    return mail_render(
        name=f"accounts/email/{action.notice_template}",
        overrides=overrides,
        context={
            "subscriber": action.subscriber,
            "action": action,
            "mailing": action.mailing,
            "strike": action.strike,
        },
    )


def notice_text(*, action: Action, overrides: dict | None = None) -> str:
    """What the customer read: the text stored when the notice went out, or for
    notices sent before the desk kept it, the text its template gives today."""
    if action.notice_text:
        return action.notice_text
    if not action.notice_template:
        return ""
    subject, body = notice_render(action=action, overrides=overrides)
    return f"Subject: {subject}\n\n{body}"


def notice_texts(*, actions: list[Action]) -> list[str]:
    """``notice_text`` of each action, with one query for staff's wording."""
    overrides = mail_overrides() if any(not a.notice_text for a in actions) else {}
    return [notice_text(action=action, overrides=overrides) for action in actions]
