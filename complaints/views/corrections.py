"""Staff corrections of mailings: merge another mailing into this one, move ticked
reports to another mailing, split them off into a new one. Abuse staff only.

Two steps, as the subscriber status changes: the GET (the mailing page's forms)
shows what the correction will do, strikes included; the POST, with a reason
and the confirmation ticked, does it, then a message and a redirect. Thin: the
plan and the change are the services'.
"""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from abusedesk.roles import abuse_required
from complaints import selectors, selectors_corrections, services
from complaints.forms import ReasonForm
from complaints.forms_corrections import MergePickForm, ReportsPickForm
from complaints.models import Mailing
from complaints.services import corrections_plan

TEMPLATE = "complaints/mailing_correction_confirm.html"


def _mailing(pk: int) -> Mailing:
    try:
        return selectors.mailing_get(pk=pk)
    except Mailing.DoesNotExist:
        raise Http404("No such mailing.") from None


def _data(request):
    return request.POST if request.method == "POST" else request.GET


def _refuse(request, mailing: Mailing, error: ValidationError) -> HttpResponse:
    messages.error(request, " ".join(error.messages))
    return redirect(mailing)


@require_http_methods(["GET", "POST"])
@abuse_required
def mailing_merge(request, pk: int):
    target = _mailing(pk)
    pick = MergePickForm(_data(request))
    if not pick.is_valid():
        return _refuse(request, target, ValidationError(_errors(pick)))
    ids = pick.cleaned_data["sources"]
    sources = selectors_corrections.mailings_by_ids(ids=ids)
    if len(sources) != len(set(ids)):
        return _refuse(request, target, ValidationError("There is no such mailing."))

    def merge(reason: str) -> tuple[Mailing, str]:
        merged = services.mailing_merge(
            target=target, sources=sources, actor=request.user, reason=reason
        )
        numbers = ", ".join(f"#{m.pk}" for m in sources)
        return merged, f"Mailing(s) {numbers} merged into #{merged.pk}."

    return _two_steps(
        request,
        back=target,
        plan=lambda: corrections_plan.merge_plan(target=target, sources=sources),
        do=merge,
        context={
            "title": f"Merge into mailing #{target.pk}",
            "button": "Merge",
            "hidden": [("sources", pk) for pk in sorted(set(ids))],
            "mailings": selectors_corrections.mailings_by_ids(ids=[target.pk, *ids]),
        },
    )


@require_http_methods(["GET", "POST"])
@abuse_required
def reports_move(request, pk: int):
    """Move the ticked reports of mailing ``pk`` to the chosen mailing."""
    mailing = _mailing(pk)
    pick = ReportsPickForm(_data(request))
    if not pick.is_valid():
        return _refuse(request, mailing, ValidationError(_errors(pick)))
    if not pick.cleaned_data["target"]:
        return _refuse(
            request, mailing, ValidationError("Choose the mailing to move them to.")
        )
    found = selectors_corrections.mailings_by_ids(ids=[pick.cleaned_data["target"]])
    if not found:
        return _refuse(request, mailing, ValidationError("There is no such mailing."))
    target = found[0]
    complaint_ids, bounce_ids = (
        pick.cleaned_data["complaint"],
        pick.cleaned_data["bounce"],
    )

    def move(reason: str) -> tuple[Mailing, str]:
        moved = services.reports_move(
            complaint_ids=complaint_ids,
            bounce_ids=bounce_ids,
            target=target,
            actor=request.user,
            reason=reason,
        )
        return moved, f"Reports moved to mailing #{moved.pk}."

    return _two_steps(
        request,
        back=mailing,
        plan=lambda: corrections_plan.move_plan(
            complaint_ids=complaint_ids, bounce_ids=bounce_ids, target=target
        ),
        do=move,
        context=_reports_context(
            pick,
            title=f"Move reports to mailing #{target.pk}",
            button="Move",
            extra=[("target", target.pk)],
        ),
    )


@require_http_methods(["GET", "POST"])
@abuse_required
def mailing_split(request, pk: int):
    """Split the ticked reports off mailing ``pk`` into a new mailing."""
    mailing = _mailing(pk)
    pick = ReportsPickForm(_data(request))
    if not pick.is_valid():
        return _refuse(request, mailing, ValidationError(_errors(pick)))
    complaint_ids, bounce_ids = (
        pick.cleaned_data["complaint"],
        pick.cleaned_data["bounce"],
    )

    def split(reason: str) -> tuple[Mailing, str]:
        new = services.mailing_split(
            mailing=mailing,
            complaint_ids=complaint_ids,
            bounce_ids=bounce_ids,
            actor=request.user,
            reason=reason,
        )
        return new, f"Reports of mailing #{mailing.pk} now form mailing #{new.pk}."

    return _two_steps(
        request,
        back=mailing,
        plan=lambda: corrections_plan.split_plan(
            mailing=mailing, complaint_ids=complaint_ids, bounce_ids=bounce_ids
        ),
        do=split,
        context=_reports_context(
            pick, title=f"Split mailing #{mailing.pk}", button="Split", extra=[]
        ),
    )


def _two_steps(
    request,
    *,
    back: Mailing,
    plan: Callable,
    do: Callable[[str], tuple[Mailing, str]],
    context: dict,
):
    """The confirmation page on GET (or on a POST that failed), the change on a
    valid POST. A refused plan goes back to the mailing with the reason."""
    try:
        planned = plan()
    except ValidationError as error:
        return _refuse(request, back, error)
    if planned.is_done:
        # A repeat (a reload, a second click): the services would write nothing.
        messages.info(request, " ".join(planned.describe()))
        return redirect(getattr(planned, "done_as", None) or back)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            result, done = do(form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, done)
            return redirect(result)
    return render(
        request,
        TEMPLATE,
        {**context, "back": back, "lines": planned.describe(), "form": form},
    )


def _reports_context(pick, *, title: str, button: str, extra: list) -> dict:
    complaint_ids, bounce_ids = (
        pick.cleaned_data["complaint"],
        pick.cleaned_data["bounce"],
    )
    complaints, bounces = selectors_corrections.reports_by_ids(
        complaint_ids=complaint_ids, bounce_ids=bounce_ids
    )
    hidden = [("complaint", pk) for pk in sorted(set(complaint_ids))]
    hidden += [("bounce", pk) for pk in sorted(set(bounce_ids))]
    return {
        "title": title,
        "button": button,
        "hidden": hidden + extra,
        "complaints": complaints,
        "bounces": bounces,
    }


def _errors(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]
