"""Abuse staff pages: the dashboard, the complaint queue and the detail pages."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from abusedesk.roles import abuse_required
from complaints import selectors
from complaints.models import Complaint, Mailing


@require_GET
@abuse_required
def dashboard(request):
    return render(
        request, "complaints/dashboard.html", {"counts": selectors.dashboard_counts()}
    )


@require_GET
@abuse_required
def complaint_list(request):
    page = Paginator(selectors.complaint_list(), 50).get_page(request.GET.get("page"))
    return render(request, "complaints/complaint_list.html", {"page": page})


@require_GET
@abuse_required
def complaint_detail(request, pk: int):
    try:
        complaint = selectors.complaint_get(pk=pk)
    except Complaint.DoesNotExist:
        raise Http404("No such complaint.") from None
    return render(request, "complaints/complaint_detail.html", {"complaint": complaint})


@require_GET
@abuse_required
def mailing_detail(request, pk: int):
    try:
        mailing = selectors.mailing_get(pk=pk)
    except Mailing.DoesNotExist:
        raise Http404("No such mailing.") from None
    context = {
        "mailing": mailing,
        "complaints": mailing.complaints.all()[:200],
        "bounces": selectors.mailing_bounces(mailing=mailing)[:200],
        "bounce_reasons": selectors.mailing_bounce_reasons(mailing=mailing),
    }
    return render(request, "complaints/mailing_detail.html", context)
