"""The mailings list (abuse staff): every mailing, filtered and sorted on
indexed keys, counted only up to a cap and paged by keyset as the complaint
queue is."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from abusedesk.pagination import KeysetPaginator
from abusedesk.roles import abuse_required
from complaints import selectors
from complaints.filters import MailingFilter
from complaints.selectors import mailing_sort_keys

PAGE_SIZE = 50


@require_GET
@abuse_required
def mailing_list(request):
    filterset = MailingFilter(request.GET or None, queryset=selectors.mailing_list())
    page = KeysetPaginator(
        filterset.qs,
        keys=mailing_sort_keys(request.GET.get("order", "")),
        per_page=PAGE_SIZE,
    ).get_page(request.GET)
    return render(
        request, "complaints/mailing_list.html", {"filter": filterset, "page": page}
    )
