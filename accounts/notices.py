"""The text of a subscriber notice, rendered from its Action.

One place renders a notice, for the mail that sends it and for the pages that
show support reps what the customer was told. Reads templates only; no writes.
"""

from django.template.loader import render_to_string

from abusedesk.branding import isp_context
from accounts.models import Action


def notice_render(*, action: Action) -> tuple[str, str]:
    """The notice's subject line and body, from ``action.notice_template``."""
    context = {
        **isp_context(),
        "subscriber": action.subscriber,
        "action": action,
        "mailing": action.mailing,
        "strike": action.strike,
    }
    name = f"accounts/email/{action.notice_template}"
    subject = " ".join(render_to_string(f"{name}_subject.txt", context).split())
    return subject, render_to_string(f"{name}.txt", context)


def notice_text(*, action: Action) -> str:
    """What the customer read: the text stored when the notice went out, or for
    notices sent before the desk kept it, the text its template gives today."""
    if action.notice_text:
        return action.notice_text
    if not action.notice_template:
        return ""
    subject, body = notice_render(action=action)
    return f"Subject: {subject}\n\n{body}"
