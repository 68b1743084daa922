from django.contrib import admin

from attendance_site.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: nobody edits or removes what it says."""

    list_display = ["at", "username", "action", "what", "object_id", "person", "path"]
    list_filter = ["action", "what"]
    search_fields = ["username", "person", "object_id", "path"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
