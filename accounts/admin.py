from django.contrib import admin

from accounts.models import Action, IPAssignment, MailAccount, Subscriber


class MailAccountInline(admin.TabularInline):
    model = MailAccount
    extra = 0


class IPAssignmentInline(admin.TabularInline):
    model = IPAssignment
    extra = 0


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["account_number", "name", "contact_email", "status", "updated_at"]
    # Status changes go through the subscriber page (or the billing import),
    # which record the Action, send the notice and refresh the policy cache.
    readonly_fields = ["status"]
    list_filter = ["status"]
    search_fields = ["account_number", "name", "contact_email", "mail_accounts__login"]
    inlines = [MailAccountInline, IPAssignmentInline]


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):
    list_display = ["login", "address", "subscriber", "is_webmail"]
    list_filter = ["is_webmail"]
    search_fields = ["login", "address", "subscriber__account_number"]
    raw_id_fields = ["subscriber"]


@admin.register(IPAssignment)
class IPAssignmentAdmin(admin.ModelAdmin):
    list_display = ["network", "subscriber", "valid_from", "valid_to"]
    search_fields = ["network", "subscriber__account_number"]
    list_filter = ["valid_to"]
    raw_id_fields = ["subscriber"]


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "subscriber", "actor", "notified_at"]
    list_filter = ["kind"]
    search_fields = ["subscriber__account_number", "reason"]
    raw_id_fields = ["subscriber", "mailing", "strike"]
    date_hierarchy = "created_at"

    # The timeline is evidence: written by the services, never edited here.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
