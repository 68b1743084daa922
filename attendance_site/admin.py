from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from attendance_site.models import AuditEntry, RoleHolder
from attendance_site.roles import ADMIN_ROLES, ROLE_DESCRIPTIONS, ROLE_SUMMARIES


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


@admin.register(RoleHolder)
class RoleHolderAdmin(admin.ModelAdmin):
    """People and roles: every account, its roles and what those let it do; edited on the user page."""

    change_list_template = "admin/attendance_site/roleholder/change_list.html"
    list_display = ["username", "name", "roles", "can_do", "is_staff", "is_active", "last_login", "edit"]
    list_display_links = None
    list_filter = ["groups", "is_superuser", "is_staff", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        roles = [
            {"name": name, "does": does, "staff": name in ADMIN_ROLES}
            for name, does in ROLE_DESCRIPTIONS.items()
        ]
        extra = {"title": "People and roles", "roles": roles, **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    @admin.display(description="Name")
    def name(self, user):
        return user.get_full_name()

    @admin.display(description="Roles")
    def roles(self, user):
        names = [group.name for group in user.groups.all()]
        if user.is_superuser:
            names.insert(0, "Administrator")
        return ", ".join(names) or "none"

    @admin.display(description="Can")
    def can_do(self, user):
        if user.is_superuser:
            return "everything"
        said = [ROLE_SUMMARIES[g.name] for g in user.groups.all() if g.name in ROLE_SUMMARIES]
        return "; ".join(said) or "nothing yet: give the account a role"

    @admin.display(description="")
    def edit(self, user):
        return format_html('<a href="{}">Change roles</a>', reverse("admin:auth_user_change", args=[user.pk]))
