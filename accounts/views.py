"""Subscriber lookup, the subscriber page and the strike-history exports, shared by
abuse staff and support.

Support reps never see who complained: these pages show mailings, strikes and the
timeline, never a complaint or its complainant.
"""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from abusedesk.roles import abuse_required, desk_required
from accounts import selectors, services
from accounts.forms import NoteForm, StatusChangeForm, SubscriberSearchForm
from accounts.models import Subscriber
from accounts.notices import notice_texts


@require_GET
@desk_required
def subscriber_search(request):
    form = SubscriberSearchForm(request.GET or None)
    search = None
    if form.is_valid() and form.cleaned_data["q"]:
        search = selectors.subscriber_search(
            query=form.cleaned_data["q"], at=form.cleaned_data["at"]
        )
        if len(search.subscribers) == 1:
            return redirect(search.subscribers[0])
    return render(
        request, "accounts/subscriber_search.html", {"form": form, "search": search}
    )


@require_GET
@desk_required
def subscriber_detail(request, pk: int):
    subscriber = get_object_or_404(Subscriber, pk=pk)
    timeline = list(
        selectors.subscriber_timeline(subscriber=subscriber)[: selectors.TIMELINE_LIMIT]
    )
    history = selectors.subscriber_history(subscriber=subscriber, recent=timeline)
    context = {
        "subscriber": subscriber,
        "mail_accounts": subscriber.mail_accounts.all(),
        "ip_assignments": subscriber.ip_assignments.all()[:50],
        "history": history,
        "notices": _notices(list(reversed(history.notices))),
        "mailings": subscriber.mailings.all()[:50],
        "timeline": timeline,
        "timeline_limit": selectors.TIMELINE_LIMIT,
        "note_form": NoteForm(),
        "status_actions": [
            (change, STATUS_CHANGES[change][1])
            for change in services.transitions_allowed(status=subscriber.status)
        ],
    }
    return render(request, "accounts/subscriber_detail.html", context)


def _notices(actions: list) -> list[dict]:
    texts = notice_texts(actions=actions)
    return [{"action": a, "text": t} for a, t in zip(actions, texts, strict=True)]


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


@require_GET
@desk_required
def subscriber_history_print(request, pk: int):
    """The strike history as a page to print or save as PDF for the customer."""
    subscriber = get_object_or_404(Subscriber, pk=pk)
    context = {
        "history": selectors.subscriber_history(subscriber=subscriber),
        "printed_at": timezone.now(),
    }
    return render(request, "accounts/subscriber_history_print.html", context)


HISTORY_CSV_COLUMNS = ["date", "event", "mailing_date", "subject", "reason", "detail"]


@require_GET
@desk_required
def subscriber_history_csv(request, pk: int):
    """The strike history as CSV, one row per event, oldest first."""
    subscriber = get_object_or_404(Subscriber, pk=pk)
    history = selectors.subscriber_history(subscriber=subscriber)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"strike-history-{_safe_filename(subscriber.account_number)}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(HISTORY_CSV_COLUMNS)
    for event in history.events:
        writer.writerow(
            [
                _csv_time(event.when),
                event.event,
                _csv_time(event.mailing_date),
                *(_csv_cell(text) for text in (event.subject, event.reason)),
                _csv_cell(event.detail),
            ]
        )
    return response


def _csv_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _csv_cell(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV
    # injection); subjects are written by whoever sent the mail.
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _safe_filename(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "-_.") or "subscriber"


# What staff may do to an account, the service that does it, and what the
# confirmation page says will happen.
STATUS_CHANGES = {
    "suspend": (
        services.subscriber_suspend,
        "Suspend",
        "The account can no longer send mail. The customer is sent a suspension notice.",
    ),
    "reinstate": (
        services.subscriber_reinstate,
        "Reinstate",
        "The account can send again. The customer is sent a reinstatement notice.",
    ),
    "terminate": (
        services.subscriber_terminate,
        "Terminate",
        "The account is closed for good; its evidence is kept. "
        "The customer is sent a termination notice.",
    ),
    "restrict": (
        services.subscriber_restrict,
        "Restrict (compromised)",
        "The account cannot send until its password is reset. "
        "The customer is sent the security advice.",
    ),
    "password_reset": (
        services.password_reset_record,
        "Record password reset",
        "The restricted account may send again.",
    ),
}


@require_http_methods(["GET", "POST"])
@abuse_required
def subscriber_status_change(request, pk: int, change: str):
    """A status change by abuse staff: the GET is the confirmation step, the POST
    (reason and confirmation required) makes the change."""
    if change not in STATUS_CHANGES:
        raise Http404("Unknown change.")
    subscriber = get_object_or_404(Subscriber, pk=pk)
    service, label, consequence = STATUS_CHANGES[change]
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
