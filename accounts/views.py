"""Subscriber lookup and the subscriber page, shared by abuse staff and support."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from abusedesk.roles import desk_required
from accounts import selectors, services
from accounts.forms import NoteForm, SubscriberSearchForm
from accounts.models import Subscriber


@require_GET
@desk_required
def subscriber_search(request):
    form = SubscriberSearchForm(request.GET or None)
    page = None
    if form.is_valid() and form.cleaned_data["q"]:
        results = selectors.subscriber_search(
            query=form.cleaned_data["q"], at=form.cleaned_data["at"]
        )
        page = Paginator(results, 50).get_page(request.GET.get("page"))
        if page.paginator.count == 1:
            return redirect(page.object_list[0])
    return render(
        request, "accounts/subscriber_search.html", {"form": form, "page": page}
    )


@require_GET
@desk_required
def subscriber_detail(request, pk: int):
    subscriber = get_object_or_404(Subscriber, pk=pk)
    context = {
        "subscriber": subscriber,
        "mail_accounts": subscriber.mail_accounts.all(),
        "ip_assignments": subscriber.ip_assignments.all()[:50],
        "strikes": subscriber.strikes.select_related(
            "mailing", "issued_by", "revoked_by"
        ),
        "mailings": subscriber.mailings.all()[:50],
        "timeline": selectors.subscriber_timeline(subscriber=subscriber)[:200],
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
