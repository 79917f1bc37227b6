"""Response headers every page of the desk carries."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# The RQ dashboard (a third-party, staff-only page) writes its checkbox helpers
# as inline scripts; it keeps the same policy otherwise.
_INLINE_SCRIPT_PREFIXES = ("/admin/rq/",)


class ContentSecurityPolicyMiddleware:
    """Send ABUSE_CONTENT_SECURITY_POLICY on every response that has none: only
    the desk's own scripts and styles run, so text a hostile sender controls can
    never become script, even if an escaping mistake let markup through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.ABUSE_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            if request.path.startswith(_INLINE_SCRIPT_PREFIXES):
                policy = policy.replace(
                    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
                )
            response["Content-Security-Policy"] = policy
        return response
