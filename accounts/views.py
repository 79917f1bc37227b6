"""The subscriber writes staff make from the subscriber page: notes (support
too) and status changes (abuse staff). The pages that show strikes are
complaints/views/subscribers.py: which strike is live is the policy's answer.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from abusedesk.roles import abuse_required, desk_required
from accounts import services
from accounts.forms import STATUS_CHANGES, NoteForm, StatusChangeForm
from accounts.models import Subscriber

# The service behind each change STATUS_CHANGES names.
STATUS_SERVICES = {
    "suspend": services.subscriber_suspend,
    "reinstate": services.subscriber_reinstate,
    "terminate": services.subscriber_terminate,
    "restrict": services.subscriber_restrict,
    "password_reset": services.password_reset_record,
}


@require_POST
@desk_required
def subscriber_note_add(request, pk: int):
    subscriber = get_object_or_404(Subscriber, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.subscriber_note_add(
                subscriber=subscriber,
                author=request.user,
                text=form.cleaned_data["text"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Note added.")
    else:
        messages.error(request, "A note needs some text.")
    return redirect(subscriber)


@require_http_methods(["GET", "POST"])
@abuse_required
def subscriber_status_change(request, pk: int, change: str):
    """A status change by abuse staff: the GET is the confirmation step, the POST
    (reason and confirmation required) makes the change."""
    if change not in STATUS_CHANGES:
        raise Http404("Unknown change.")
    subscriber = get_object_or_404(Subscriber, pk=pk)
    label, consequence = STATUS_CHANGES[change]
    service = STATUS_SERVICES[change]
    form = StatusChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            action = service(
                subscriber=subscriber,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            done = "Done." if action is not None else "Nothing to change: already so."
            messages.success(request, f"{label}: {done}")
            return redirect(subscriber)
    context = {
        "subscriber": subscriber,
        "form": form,
        "label": label,
        "consequence": consequence,
        "change": change,
    }
    return render(request, "accounts/subscriber_status_change.html", context)
