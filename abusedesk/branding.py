"""Who the desk speaks for: the ISP's name and how to reach its abuse team, on
the public pages and in every mail the desk sends (ABUSE_ISP_NAME,
ABUSE_ISP_CONTACT, read at call time)."""

from django.conf import settings


def isp_context() -> dict[str, str]:
    return {
        "isp_name": settings.ABUSE_ISP_NAME,
        "isp_contact": settings.ABUSE_ISP_CONTACT or settings.ABUSE_FROM_EMAIL,
    }


def branding_context(request) -> dict[str, str]:
    """Template context processor."""
    return isp_context()
