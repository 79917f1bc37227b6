from django.contrib import admin

from outbound.models import LoginAlert, Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Read-only: submissions are what the relays were told, not to be edited."""

    list_display = [
        "decided_at",
        "relay_host",
        "queue_id",
        "login",
        "recipient_count",
        "action",
        "rule",
    ]
    list_filter = ["action", "rule", "source"]
    search_fields = ["queue_id", "login", "trace_token"]
    raw_id_fields = ["subscriber", "mailing"]
    date_hierarchy = "decided_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LoginAlert)
class LoginAlertAdmin(admin.ModelAdmin):
    list_display = ["login", "subscriber", "first_seen", "last_seen", "closed_at"]
    search_fields = ["login"]
    raw_id_fields = ["subscriber"]
