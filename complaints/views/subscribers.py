"""The subscriber pages that show strikes, shared by abuse staff and support:
the lookup with each subscriber's standing, the subscriber page, and the
strike-history exports. They live in complaints because every strike figure is
the policy's answer (complaints/strikes.py); their URLs stay under
``/subscribers/`` in the ``accounts`` namespace (abusedesk/urls.py).

Support reps never see who complained: these pages show mailings, strikes and the
timeline, never a complaint or its complainant.
"""

import csv

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from abusedesk.roles import desk_required
from accounts import selectors as account_selectors
from accounts.forms import STATUS_CHANGES, NoteForm, SubscriberSearchForm
from accounts.models import Subscriber
from accounts.notices import notice_texts
from accounts.services import transitions_allowed
from complaints import selectors_subscribers as selectors


@require_GET
@desk_required
def subscriber_search(request):
    form = SubscriberSearchForm(request.GET or None)
    search = None
    if form.is_valid() and form.cleaned_data["q"]:
        search = account_selectors.subscriber_search(
            query=form.cleaned_data["q"], at=form.cleaned_data["at"]
        )
        if len(search.subscribers) == 1:
            return redirect(search.subscribers[0])
    standings = (
        selectors.subscriber_standings(subscribers=search.subscribers) if search else {}
    )
    rows = [(s, standings[s.pk]) for s in search.subscribers] if search else []
    context = {"form": form, "search": search, "rows": rows}
    return render(request, "accounts/subscriber_search.html", context)


@require_GET
@desk_required
def subscriber_detail(request, pk: int):
    subscriber = get_object_or_404(Subscriber, pk=pk)
    limit = account_selectors.TIMELINE_LIMIT
    timeline = list(
        account_selectors.subscriber_timeline(subscriber=subscriber)[:limit]
    )
    history = selectors.subscriber_history(subscriber=subscriber, recent=timeline)
    context = {
        "subscriber": subscriber,
        "mail_accounts": subscriber.mail_accounts.all(),
        "ip_assignments": subscriber.ip_assignments.all()[:50],
        "history": history,
        "notices": _notices(list(reversed(history.notices))),
        "mailings": selectors.subscriber_mailings(subscriber=subscriber)[:50],
        "timeline": timeline,
        "timeline_limit": limit,
        "note_form": NoteForm(),
        "status_actions": [
            (change, STATUS_CHANGES[change][0])
            for change in transitions_allowed(status=subscriber.status)
        ],
    }
    return render(request, "accounts/subscriber_detail.html", context)


def _notices(actions: list) -> list[dict]:
    texts = notice_texts(actions=actions)
    return [{"action": a, "text": t} for a, t in zip(actions, texts, strict=True)]


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
