from django.contrib import admin

from attendance.models import ReportAccess


@admin.register(ReportAccess)
class ReportAccessAdmin(admin.ModelAdmin):
    list_display = ["user"]
    filter_horizontal = ["departments"]
    autocomplete_fields = ["user"]
