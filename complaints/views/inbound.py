"""Stored messages that need a person (abuse staff): the failed, ignored,
discarded and pending lists, one message with its raw text shown inert, and the
reprocess and discard buttons. Thin: parse input, call one service, redirect."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from abusedesk.pagination import KeysetPaginator
from abusedesk.roles import abuse_required
from complaints import selectors, services
from complaints.forms import ReasonForm
from complaints.models import InboundMessage

PAGE_SIZE = 50
RAW_DISPLAY_LIMIT = 200_000

# The lists, by the path segment that names them.
LISTS = {
    "failed": InboundMessage.State.FAILED,
    "ignored": InboundMessage.State.IGNORED,
    "discarded": InboundMessage.State.DISCARDED,
    "pending": InboundMessage.State.PENDING,
}


@require_GET
@abuse_required
def inbound_list(request, state: str = "failed"):
    if state not in LISTS:
        raise Http404("No such list.")
    page = KeysetPaginator(
        selectors.inbound_list(state=LISTS[state]),
        keys=["-received_at", "-pk"],
        per_page=PAGE_SIZE,
    )
    context = {
        "page": page.get_page(request.GET),
        "state": state,
        "lists": list(LISTS),
    }
    return render(request, "complaints/inbound_list.html", context)


@require_GET
@abuse_required
def inbound_detail(request, pk: int):
    inbound = get_object_or_404(
        InboundMessage.objects.select_related("discarded_by"), pk=pk
    )
    raw_text, raw_truncated = selectors.inbound_raw_text(
        inbound=inbound, limit=RAW_DISPLAY_LIMIT
    )
    context = {
        "inbound": inbound,
        "back_to": inbound.state if inbound.state in LISTS else "failed",
        "outcome": services.inbound_outcome(inbound=inbound),
        "events": selectors.inbound_events(inbound=inbound),
        "raw_text": raw_text,
        "raw_truncated": raw_truncated,
        "reason_form": ReasonForm(),
    }
    return render(request, "complaints/inbound_detail.html", context)


@require_POST
@abuse_required
def inbound_reprocess(request, pk: int):
    inbound = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    outcome = services.inbound_reprocess(inbound=inbound)
    level = messages.ERROR if outcome.state == InboundMessage.State.FAILED else None
    messages.add_message(
        request,
        level or messages.SUCCESS,
        f"Message #{inbound.pk} reprocessed. {outcome.summary}",
    )
    return redirect("complaints:inbound_detail", pk=inbound.pk)


@require_POST
@abuse_required
def inbound_discard(request, pk: int):
    inbound = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the confirmation and give a reason.")
        return redirect("complaints:inbound_detail", pk=inbound.pk)
    try:
        services.inbound_discard(
            inbound=inbound, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Message #{inbound.pk} discarded.")
    return redirect("complaints:inbound_detail", pk=inbound.pk)
