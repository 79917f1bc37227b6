"""Abuse staff pages: the dashboard, the complaint queue, complaint and mailing
detail with their decisions (the mailings list and the stored-message pages are
in ``mailings`` and ``inbound``). Thin: parse input, call
one selector or service, render or redirect."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from abusedesk.pagination import KeysetPaginator
from abusedesk.roles import abuse_required
from complaints import charts, selectors, services, strikes
from complaints.filters import ComplaintFilter
from complaints.forms import BulkActionForm, ConfirmForm, LinkForm, ReasonForm
from complaints.models import Complaint, Mailing, Strike
from complaints.selectors import complaint_sort_keys
from complaints.services import triage
from complaints.services.dashboard import report_days_refresh, report_recount_turn

QUEUE_PAGE_SIZE = 50
RAW_DISPLAY_LIMIT = 200_000
BOUNCE_PAGE_SIZE = 100
MAILING_COMPLAINTS_SHOWN = 200
DASHBOARD_DAYS = 30


def _fail(request, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@require_GET
@abuse_required
def dashboard(request):
    now = timezone.now()
    context = {
        "counts": selectors.dashboard_counts(now=now),
        "overdue_hours": settings.ABUSE_HOLD_REVIEW_HOURS,
        "at_two_strikes": selectors.subscribers_at_strikes_kept(
            live=settings.ABUSE_STRIKE_LIMIT - 1, now=now
        ),
        "daily": _daily(today=timezone.localdate(now), now=now),
        "top_mailings": selectors.mailings_top_this_week(now=now),
        "recent_actions": selectors.actions_recent(),
    }
    context["chart"] = _daily_chart(context["daily"])
    return render(request, "complaints/dashboard.html", context)


def _daily(*, today, now) -> list[selectors.DayCount]:
    report_days_refresh(
        today=today,
        days=DASHBOARD_DAYS,
        now=now,
        recount_stale=report_recount_turn(days=DASHBOARD_DAYS),
    )
    return selectors.daily_counts(today=today, days=DASHBOARD_DAYS)


def _daily_chart(daily: list[selectors.DayCount]) -> dict:
    slots = [
        charts.Slot(
            start=day.day,
            label=f"{day.day.day} {day.day:%b}"
            if n == 0 or day.day.day == 1
            else str(day.day.day),
            complaints=day.complaints,
            bounces=day.bounces,
        )
        for n, day in enumerate(daily)
    ]
    return charts.stacked_bars(slots)


@require_GET
@abuse_required
def complaint_list(request):
    filterset = ComplaintFilter(
        request.GET or None, queryset=selectors.complaint_list()
    )
    keys, nullable = complaint_sort_keys(request.GET.get("order", ""))
    page = KeysetPaginator(
        filterset.qs, keys=keys, per_page=QUEUE_PAGE_SIZE, nullable_first_key=nullable
    ).get_page(request.GET)
    context = {"filter": filterset, "page": page, "bulk_form": BulkActionForm()}
    return render(request, "complaints/complaint_list.html", context)


@require_POST
@abuse_required
def complaint_bulk(request):
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Select at least one complaint and an action.")
        return redirect(_back_to_queue(request))
    mailing = None
    if form.cleaned_data["mailing"]:
        mailing = Mailing.objects.filter(pk=form.cleaned_data["mailing"]).first()
        if mailing is None:
            messages.error(
                request, f"There is no mailing #{form.cleaned_data['mailing']}."
            )
            return redirect(_back_to_queue(request))
    try:
        changed = triage.complaints_bulk_update(
            complaints=selectors.complaints_by_ids(ids=form.cleaned_data["complaints"]),
            action=form.cleaned_data["action"],
            actor=request.user,
            mailing=mailing,
        )
    except ValidationError as error:
        _fail(request, error)
    else:
        noun = "complaint" if changed == 1 else "complaints"
        messages.success(request, f"{changed} {noun} updated.")
    return redirect(_back_to_queue(request))


def _queue_query(query: str) -> str:
    """A queue filter carried from page to page as a query string; anything
    that could split a header is dropped."""
    return query if query and "\n" not in query and "\r" not in query else ""


def _back_to_complaint(request, complaint) -> str:
    queue = _queue_query(request.POST.get("queue", ""))
    url = complaint.get_absolute_url()
    return f"{url}?{urlencode({'queue': queue})}" if queue else url


def _back_to_queue(request) -> str:
    query = request.POST.get("next_query", "")
    url = "/complaints/"
    return f"{url}?{query}" if query and "\n" not in query else url


@require_GET
@abuse_required
def complaint_detail(request, pk: int):
    try:
        complaint = selectors.complaint_get(pk=pk)
    except Complaint.DoesNotExist:
        raise Http404("No such complaint.") from None
    query = request.GET.get("mailing_q", "")
    raw_text, raw_truncated = "", False
    if complaint.inbound_id:
        raw = bytes(complaint.inbound.raw)
        raw_truncated = len(raw) > RAW_DISPLAY_LIMIT
        raw_text = raw[:RAW_DISPLAY_LIMIT].decode("utf-8", errors="replace")
    queue = _queue_query(request.GET.get("queue", ""))
    before, after = None, None
    if queue:
        filterset = ComplaintFilter(
            QueryDict("" if queue == "all" else queue),
            queryset=selectors.complaint_list(),
        )
        if filterset.is_valid():
            before, after = selectors.complaint_neighbours(
                queryset=filterset.qs,
                pk=complaint.pk,
                order=QueryDict(queue).get("order", ""),
            )
    context = {
        "complaint": complaint,
        "queue": queue,
        "previous_id": before,
        "next_id": after,
        "raw_text": raw_text,
        "raw_truncated": raw_truncated,
        "mailing_q": query,
        "candidates": selectors.mailing_search(
            query=query, subscriber_id=complaint.subscriber_id
        )[:20],
        "link_form": LinkForm(),
    }
    return render(request, "complaints/complaint_detail.html", context)


@require_GET
@abuse_required
def complaint_raw(request, pk: int):
    """The reported message exactly as received, as an .eml download (never
    rendered inline: its content is hostile)."""
    complaint = get_object_or_404(Complaint.objects.select_related("inbound"), pk=pk)
    if complaint.inbound is None:
        raise Http404("This complaint was entered by hand; there is no message.")
    response = HttpResponse(bytes(complaint.inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = (
        f'attachment; filename="{complaint.reference}.eml"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@abuse_required
def complaint_link(request, pk: int):
    complaint = get_object_or_404(Complaint, pk=pk)
    form = LinkForm(request.POST)
    mailing = (
        Mailing.objects.filter(pk=form.data.get("mailing") or 0).first()
        if form.is_valid()
        else None
    )
    if mailing is None:
        messages.error(request, "Choose an existing mailing to link to.")
        return redirect(_back_to_complaint(request, complaint))
    try:
        triage.complaint_link(complaint=complaint, mailing=mailing, actor=request.user)
    except ValidationError as error:
        _fail(request, error)
    else:
        messages.success(request, f"Linked to mailing #{mailing.pk}.")
    return redirect(_back_to_complaint(request, complaint))


@require_POST
@abuse_required
def complaint_triage(request, pk: int, action: str):
    """Unlink, dismiss or mark duplicate: one click each, reversible by linking."""
    complaint = get_object_or_404(Complaint, pk=pk)
    service = {
        "unlink": triage.complaint_unlink,
        "dismiss": triage.complaint_dismiss,
        "duplicate": triage.complaint_mark_duplicate,
    }.get(action)
    if service is None:
        raise Http404("Unknown action.")
    service(complaint=complaint, actor=request.user)
    messages.success(request, f"Complaint {complaint.reference}: {action} done.")
    return redirect(_back_to_complaint(request, complaint))


@require_GET
@abuse_required
def mailing_detail(request, pk: int):
    try:
        mailing, strike = selectors.mailing_get_with_strike(pk=pk)
    except Mailing.DoesNotExist:
        raise Http404("No such mailing.") from None
    rate = (
        mailing.hard_bounce_count / mailing.recipient_count
        if mailing.recipient_count
        else None
    )
    complaints = list(
        selectors.mailing_complaints_newest(mailing=mailing)[:MAILING_COMPLAINTS_SHOWN]
    )
    bounce_summary = selectors.mailing_bounce_summary(mailing=mailing)
    bounces = Paginator(selectors.mailing_bounces(mailing=mailing), BOUNCE_PAGE_SIZE)
    # Counted with the reasons: the paginator need not COUNT them again.
    bounces.count = bounce_summary.total
    context = {
        "mailing": mailing,
        "strike": strike,
        "offered": strikes.mailing_decisions(
            state=mailing.state,
            has_strike=strike is not None,
            has_live_strike=strike is not None and strike.revoked_at is None,
        ),
        "decision": selectors.mailing_decision(mailing=mailing),
        "live_strikes": selectors.strike_count_live(
            subscriber_id=mailing.subscriber_id, now=timezone.now()
        ),
        "strike_limit": settings.ABUSE_STRIKE_LIMIT,
        "complaints_per_strike": max(settings.ABUSE_COMPLAINTS_PER_STRIKE, 1),
        "complaints": complaints,
        "bounces": bounces.get_page(request.GET.get("bounces_page")),
        "bounce_reasons": bounce_summary.reasons,
        "cut_notices": bounce_summary.cut_notices,
        "chart": charts.stacked_bars(
            selectors.mailing_activity(
                mailing=mailing,
                has_bounces=bounce_summary.total > 0,
                # Fewer rows than asked for: they are all of the mailing's.
                complaint_times=[c.received_at for c in complaints]
                if len(complaints) < MAILING_COMPLAINTS_SHOWN
                else None,
                newest_complaint=(complaints[0].pk, complaints[0].received_at)
                if complaints
                else None,
            ),
            width=960,
            height=100,
        ),
        "bogus_rate": rate,
        "bogus_min": settings.ABUSE_BOGUS_MIN,
        "bogus_rate_threshold": settings.ABUSE_BOGUS_RATE,
        "timeline": selectors.mailing_timeline(mailing=mailing)[:100],
        "held_recipients": selectors.mailing_held_recipients(mailing=mailing),
        "reason_form": ReasonForm(),
        "confirm_form": ConfirmForm(),
    }
    return render(request, "complaints/mailing_detail.html", context)


@require_POST
@abuse_required
def mailing_decide(request, pk: int, decision: str):
    """Staff's decisions on a mailing. Each needs a confirmation; all but the
    strike need a reason. A held batch is decided on its own page
    (``outbound.views.held_decide``), where the queue commands run."""
    mailing = get_object_or_404(Mailing, pk=pk)
    needs_reason = decision in {"compromised", "dismiss"}
    form = (ReasonForm if needs_reason else ConfirmForm)(request.POST)
    if decision not in MAILING_DECISIONS:
        raise Http404("Unknown decision.")
    if not form.is_valid():
        messages.error(
            request,
            "Tick the confirmation" + (" and give a reason." if needs_reason else "."),
        )
        return redirect(mailing)
    reason = form.cleaned_data.get("reason", "")
    try:
        MAILING_DECISIONS[decision](mailing=mailing, actor=request.user, reason=reason)
    except ValidationError as error:
        _fail(request, error)
    else:
        messages.success(request, DECISION_DONE[decision])
    return redirect(mailing)


def _strike(*, mailing, actor, reason):
    return services.strike_issue(mailing=mailing, actor=actor)


MAILING_DECISIONS = {
    "strike": _strike,
    "compromised": services.mailing_mark_compromised,
    "dismiss": services.mailing_dismiss,
}
DECISION_DONE = {
    "strike": "Strike issued.",
    "compromised": "Marked compromised: the account is restricted and the advice is sent.",
    "dismiss": "Mailing dismissed.",
}


@require_POST
@abuse_required
def strike_revoke(request, pk: int):
    strike = get_object_or_404(Strike.objects.select_related("mailing"), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the confirmation and give a reason.")
        return redirect(strike.mailing)
    try:
        services.strike_revoke(
            strike=strike,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            reinstate=bool(request.POST.get("reinstate")),
        )
    except ValidationError as error:
        _fail(request, error)
    else:
        messages.success(request, "Strike revoked.")
    return redirect(strike.mailing)
