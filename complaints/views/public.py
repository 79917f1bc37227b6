"""The public pages for complainants, with no account: the report form
(``/report/``), its confirmation (``/report/done/``) and the status page
(``/report/status/``).

Defences, in the order a request meets them: a per-IP rate limit before the body is
read; an upload handler that keeps at most ABUSE_REPORT_MAX_BYTES of a file in
memory; CSRF; a honeypot field; a per-address rate limit. What people type is only
ever shown back through autoescaping.
"""

import logging
from io import BytesIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from complaints.forms_public import ReportForm, StatusForm
from complaints.selectors_public import PUBLIC_STATE_TEXT
from complaints.selectors_public import report_status as status_lookup
from complaints.services import public_reports
from complaints.services.public_reports import Submission, rate_limit_hit

logger = logging.getLogger(__name__)

SESSION_KEY = "web_report"


class CappedUploadHandler(FileUploadHandler):
    """Keeps at most ``limit + 1`` bytes of an uploaded file in memory and counts
    the rest, so the form can say how large the file was without storing it."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        self.total = 0

    def receive_data_chunk(self, raw_data, start):
        room = self.limit + 1 - self.buffer.tell()
        if room > 0:
            self.buffer.write(raw_data[:room])
        self.total += len(raw_data)

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=self.total,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


def client_ip(request: HttpRequest) -> str:
    """The address the request came from. Behind the TLS proxy the settings
    trust (DJANGO_SECURE_PROXY_SSL_HEADER), that is the last X-Forwarded-For
    entry, the one the proxy itself appended; earlier entries are the client's
    word and could be anything."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def _too_many(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    retry_after = public_reports.RATE_WINDOW_SECONDS - (
        int(now.timestamp()) % public_reports.RATE_WINDOW_SECONDS
    )
    response = render(
        request,
        "complaints/public/rate_limited.html",
        {"retry_minutes": max(1, retry_after // 60)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


@csrf_exempt  # checked by _report_form, once the upload handler is in place
@require_http_methods(["GET", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _report_form(request)
    ip_limit = public_reports.REPORTS_PER_IP_PER_HOUR
    if rate_limit_hit(
        scope="report-ip", key=client_ip(request), limit=ip_limit, now=timezone.now()
    ):
        return _too_many(request)
    # Upload handlers can only be changed before the body is read, which the
    # CSRF check would do (Django's documented csrf_exempt/csrf_protect pattern).
    request.upload_handlers = [
        CappedUploadHandler(request, limit=settings.ABUSE_REPORT_MAX_BYTES)
    ]
    try:
        request.POST  # noqa: B018 - reads the body here, where its size is handled
    except RequestDataTooBig:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        form = ReportForm()
        context = {"form": form, "page_error": form.size_error(size)}
        return render(
            request, "complaints/public/report_form.html", context, status=413
        )
    return _report_form(request)


@csrf_protect
def _report_form(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = ReportForm()
        return render(request, "complaints/public/report_form.html", {"form": form})
    form = ReportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "complaints/public/report_form.html", {"form": form})
    data = form.cleaned_data
    now = timezone.now()
    email_limit = public_reports.REPORTS_PER_EMAIL_PER_HOUR
    if rate_limit_hit(
        scope="report-email", key=data["email"], limit=email_limit, now=now
    ):
        return _too_many(request)
    filed = public_reports.report_file(
        submission=Submission(
            email=data["email"],
            name=data["name"],
            what_happened=data["what_happened"],
            pasted_headers=data["headers"],
            eml=data["eml"],
        ),
        now=now,
    )
    # The reference travels in the session, never in the URL, where it could be
    # guessed, logged or shared.
    request.session[SESSION_KEY] = {
        "reference": filed.reference,
        "is_repeat": filed.is_repeat,
    }
    return redirect("complaints:report_done")


@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    filed = request.session.get(SESSION_KEY)
    if not filed:
        return redirect("complaints:report_form")
    return render(request, "complaints/public/report_done.html", {"filed": filed})


@require_http_methods(["GET", "POST"])
def report_status(request: HttpRequest) -> HttpResponse:
    """POST, not GET: the address and reference stay out of URLs and logs."""
    states = list(PUBLIC_STATE_TEXT.values())
    if request.method == "GET":
        context = {"form": StatusForm(), "states": states}
        return render(request, "complaints/public/report_status.html", context)
    limit = public_reports.STATUS_LOOKUPS_PER_IP_PER_HOUR
    if rate_limit_hit(
        scope="status-ip", key=client_ip(request), limit=limit, now=timezone.now()
    ):
        return _too_many(request)
    form = StatusForm(request.POST)
    context = {"form": form, "states": states, "looked_up": False}
    if form.is_valid():
        context["looked_up"] = True
        context["status"] = status_lookup(
            reference=form.cleaned_data["reference"], email=form.cleaned_data["email"]
        )
    return render(request, "complaints/public/report_status.html", context)
