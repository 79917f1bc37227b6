"""Staff pages for held batches: the list, one batch, and the decisions on it."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from abusedesk.roles import abuse_required
from complaints import selectors as complaint_selectors
from complaints.forms import ConfirmForm, ReasonForm
from complaints.models import Mailing
from outbound import selectors
from outbound.services import holds


def _batch(pk: int) -> Mailing:
    try:
        return selectors.held_batch_get(pk=pk)
    except Mailing.DoesNotExist:
        raise Http404("No such held batch.") from None


@require_GET
@abuse_required
def held_list(request):
    now, hours = timezone.now(), settings.ABUSE_HOLD_REVIEW_HOURS
    batches = list(selectors.held_batch_list()[:500])
    for batch in batches:
        batch.is_overdue = selectors.is_overdue(
            mailing=batch, now=now, review_hours=hours
        )
    return render(
        request,
        "outbound/held_list.html",
        {
            "batches": batches,
            "review_hours": hours,
            "alerts": selectors.login_alert_list_open()[:100],
        },
    )


@require_GET
@abuse_required
def held_detail(request, pk: int):
    batch = _batch(pk)
    submissions = list(selectors.held_batch_submissions(mailing=batch))
    context = {
        "batch": batch,
        "submissions": submissions,
        "recipients_total": sum(s.recipient_count for s in submissions),
        "reasons": sorted({s.reason for s in submissions if s.reason}),
        "is_overdue": selectors.is_overdue(
            mailing=batch,
            now=timezone.now(),
            review_hours=settings.ABUSE_HOLD_REVIEW_HOURS,
        ),
        "held_recipients": complaint_selectors.mailing_held_recipients(mailing=batch),
        "history": selectors.subscriber_history(subscriber=batch.subscriber),
        "timeline": complaint_selectors.mailing_timeline(mailing=batch)[:100],
        "reason_form": ReasonForm(),
        "confirm_form": ConfirmForm(),
    }
    return render(request, "outbound/held_detail.html", context)


@require_POST
@abuse_required
def held_decide(request, pk: int, decision: str):
    if decision not in {"release", "reject", "headers"}:
        raise Http404("Unknown decision.")
    batch = _batch(pk)
    back = reverse("outbound:held_detail", args=[batch.pk])
    if decision == "headers":
        count = holds.held_headers_request(mailing=batch)
        messages.success(request, f"Reading the headers of {count} messages.")
        return redirect(back)
    form = (ReasonForm if decision == "reject" else ConfirmForm)(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Tick the confirmation and give a reason for a rejection."
        )
        return redirect(back)
    try:
        holds.held_batch_decide(
            mailing=batch,
            actor=request.user,
            release=decision == "release",
            reason=form.cleaned_data.get("reason", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Batch released: its messages are being let go."
            if decision == "release"
            else "Batch rejected: its messages are being deleted.",
        )
    return redirect(back)
