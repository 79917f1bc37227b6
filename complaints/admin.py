from django.contrib import admin, messages
from django.utils.html import format_html

from complaints.models import (
    Bounce,
    Complaint,
    InboundMessage,
    IngestToken,
    Mailing,
    MailingKey,
    Strike,
)
from complaints.services.tokens import ingest_token_create

RAW_PREVIEW_LIMIT = 200_000

# The fields the services own: a change to them must leave an Action on the
# timeline (and sometimes a notice), which only the desk's own pages write. The
# admin shows them; it does not edit them.
MAILING_SERVICE_FIELDS = [
    "state",
    "complaint_count",
    "hard_bounce_count",
    "soft_bounce_count",
    "held_recipients",
]
COMPLAINT_SERVICE_FIELDS = [
    "state",
    "subscriber",
    "mailing",
    "acknowledged_at",
    "needs_acknowledgment",
]


class ServiceOwnedAdmin(admin.ModelAdmin):
    """Read-only fields on change only: a row added by hand (a manual entry) may
    still set them once; the desk's services own them afterwards."""

    service_fields: list[str] = []

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self.service_fields if obj is not None else fields


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "received_at",
        "channel",
        "state",
        "kind",
        "size",
        "short_error",
    ]
    list_filter = ["state", "channel", "kind"]
    search_fields = ["sha256", "message_id"]
    date_hierarchy = "received_at"
    exclude = ["raw"]
    readonly_fields = [
        "sha256",
        "size",
        "channel",
        "message_id",
        "received_at",
        "state",
        "kind",
        "error",
        "processed_at",
        "attempts",
        "discarded_at",
        "discarded_by",
        "discard_reason",
        "raw_text",
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        # The list never needs the message bytes; the detail page does.
        return (
            qs.defer("raw")
            if request.resolver_match.url_name.endswith("changelist")
            else qs
        )

    @admin.display(description="error")
    def short_error(self, obj) -> str:
        return obj.error[:80]

    @admin.display(description="raw message")
    def raw_text(self, obj) -> str:
        text = bytes(obj.raw[:RAW_PREVIEW_LIMIT]).decode("utf-8", errors="replace")
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MailingKeyInline(admin.TabularInline):
    model = MailingKey
    extra = 0


@admin.register(Mailing)
class MailingAdmin(ServiceOwnedAdmin):
    service_fields = MAILING_SERVICE_FIELDS
    list_display = [
        "pk",
        "subscriber",
        "subject",
        "state",
        "source",
        "complaint_count",
        "hard_bounce_count",
        "last_seen",
    ]
    list_filter = ["state", "source"]
    search_fields = ["subject", "sender", "subscriber__account_number", "keys__value"]
    raw_id_fields = ["subscriber"]
    inlines = [MailingKeyInline]
    date_hierarchy = "last_seen"


@admin.register(Complaint)
class ComplaintAdmin(ServiceOwnedAdmin):
    service_fields = COMPLAINT_SERVICE_FIELDS
    list_display = [
        "reference",
        "received_at",
        "channel",
        "feedback_type",
        "state",
        "subscriber",
    ]
    list_filter = ["state", "channel", "feedback_type"]
    search_fields = ["reference", "message_id", "subject", "complainant_email", "login"]
    raw_id_fields = ["inbound", "subscriber", "mailing"]
    date_hierarchy = "received_at"


@admin.register(Bounce)
class BounceAdmin(admin.ModelAdmin):
    list_display = ["address", "status", "reason", "is_hard", "received_at", "mailing"]
    list_filter = ["is_hard", "reason"]
    search_fields = ["address", "original_address", "message_id", "diagnostic"]
    raw_id_fields = ["inbound", "subscriber", "mailing"]
    date_hierarchy = "received_at"


@admin.register(Strike)
class StrikeAdmin(admin.ModelAdmin):
    list_display = [
        "mailing",
        "subscriber",
        "reason",
        "issued_at",
        "issued_by",
        "revoked_at",
    ]
    list_filter = ["reason", "revoked_at"]
    search_fields = ["subscriber__account_number"]
    raw_id_fields = ["mailing", "subscriber", "issued_by", "revoked_by"]

    # Strikes are issued and revoked on the mailing page, which writes the
    # Action and applies the policy; the admin only shows them.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Revocation keeps the row; deleting a strike would erase evidence.
        return False


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "created_at", "last_used_at"]
    readonly_fields = ["created_at", "last_used_at"]
    fields = ["name", "is_active", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        created, token = ingest_token_create(name=obj.name)
        obj.pk = created.pk
        obj.token_sha256 = created.token_sha256
        messages.warning(
            request,
            f"Token for {created.name}: {token} — copy it now, it is not shown again.",
        )
