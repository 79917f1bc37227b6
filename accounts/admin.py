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

    def has_delete_permission(self, request, obj=None) -> bool:
        # The timeline is evidence: it is never edited away.
        return False
