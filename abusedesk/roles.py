"""Who may do what: the two staff roles and the view decorators that enforce them.

Abuse staff (group ``abuse``) triage and act; support reps (group ``support``)
look up and read, and may add notes. Superusers count as abuse staff.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

ABUSE = "abuse"
SUPPORT = "support"


def is_abuse_staff(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or _in_group(user, ABUSE)


def is_support_staff(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return _in_group(user, SUPPORT)


def is_desk_user(user) -> bool:
    return is_abuse_staff(user) or is_support_staff(user)


def _in_group(user, name: str) -> bool:
    # Cached on the user object: templates and views ask several times per request.
    cache = getattr(user, "_desk_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._desk_groups = cache
    return name in cache


def _role_required(check: Callable) -> Callable:
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


abuse_required = _role_required(is_abuse_staff)
desk_required = _role_required(is_desk_user)


def roles_context(request) -> dict:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"is_abuse_staff": is_abuse_staff(user), "is_desk_user": is_desk_user(user)}
