"""Subscriber lookup, the subscriber page and the strike-history exports, shared by
abuse staff and support.

Support reps never see who complained: these pages show mailings, strikes and the
timeline, never a complaint or its complainant.
"""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from abusedesk.roles import desk_required
from accounts import selectors, services
from accounts.forms import NoteForm, SubscriberSearchForm
from accounts.models import Subscriber


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
    context = {
        "subscriber": subscriber,
        "mail_accounts": subscriber.mail_accounts.all(),
        "ip_assignments": subscriber.ip_assignments.all()[:50],
        "history": selectors.subscriber_history(subscriber=subscriber, recent=timeline),
        "mailings": subscriber.mailings.all()[:50],
        "timeline": timeline,
        "timeline_limit": selectors.TIMELINE_LIMIT,
        "note_form": NoteForm(),
    }
    return render(request, "accounts/subscriber_detail.html", context)


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
