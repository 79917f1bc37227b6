"""Site-wide pages: the landing page after login and the health check."""

from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from abusedesk.roles import desk_required, is_abuse_staff


@require_GET
@desk_required
def home(request):
    if is_abuse_staff(request.user):
        return redirect("complaints:dashboard")
    return redirect("accounts:subscriber_search")


@require_GET
def healthz(request):
    """For load balancers: answers 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
