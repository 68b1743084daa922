"""Admin for kiosks, check-in attempts and attendance events (HR adds, fixes and deletes events here)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from attendance import services
from attendance.checkin import services as checkin_services
from attendance.clock import person_clock
from attendance.models import (
    AttendanceEvent,
    AttendanceEventLog,
    CheckinAttempt,
    Kiosk,
    KioskPin,
    ReportAccess,
)


@admin.register(ReportAccess)
class ReportAccessAdmin(admin.ModelAdmin):
    list_display = ["user"]
    filter_horizontal = ["departments"]
    autocomplete_fields = ["user"]


class KioskPinForm(forms.ModelForm):
    pin = forms.CharField(
        label="PIN",
        min_length=4,
        max_length=8,
        widget=forms.PasswordInput(render_value=False),
        help_text="4 to 8 digits. Stored hashed: it cannot be read back, only replaced.",
    )

    class Meta:
        model = KioskPin
        fields = ["person"]

    def clean_pin(self):
        pin = self.cleaned_data["pin"]
        if not (pin.isdigit() and pin.isascii()):
            raise forms.ValidationError("Use digits only (0-9).")
        return pin


@admin.register(KioskPin)
class KioskPinAdmin(admin.ModelAdmin):
    """HR sets a person's kiosk PIN (the fallback when the face is not recognised) and sees its lock."""

    form = KioskPinForm
    list_display = ["person", "failures", "locked_until", "set_by", "set_at"]
    search_fields = ["person__full_name", "person__employee_id"]
    autocomplete_fields = ["person"]
    readonly_fields = ["failures", "locked_until", "set_by", "set_at"]

    def save_model(self, request, obj, form, change):
        row = checkin_services.kiosk_pin_set(person=obj.person, pin=form.cleaned_data["pin"], by=request.user)
        obj.pk = row.pk

    def get_readonly_fields(self, request, obj=None):
        # A PIN belongs to one person: changing it keeps the person.
        return [*self.readonly_fields, "person"] if obj else self.readonly_fields


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "location",
        "is_active",
        "liveness_mode",
        "decision",
        "min_minutes_between_in_and_out",
        "last_seen_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["is_active", "liveness_mode", "decision"]
    search_fields = ["name", "location"]
    fields = [
        "name",
        "location",
        "is_active",
        "liveness_mode",
        "decision",
        "min_minutes_between_in_and_out",
        "choice_confirm_seconds",
        "last_seen_at",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["last_seen_at", "created_by", "created_at"]
    actions = ["revoke"]

    def add_view(self, request, form_url="", extra_context=None):
        # A kiosk gets its token in the browser that will be the kiosk: register it there.
        return HttpResponseRedirect(reverse("kiosk-register"))

    def get_readonly_fields(self, request, obj=None):
        # A revoked kiosk's token is gone for good: it is registered again, never ticked back on.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "is_active"] if obj is not None and not obj.is_active else fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            checkin_services.kiosk_revoke(kiosk=obj)

    @admin.action(
        description="Revoke the selected kiosks (their tokens stop working)", permissions=["change"]
    )
    def revoke(self, request, queryset):
        for kiosk in queryset:
            checkin_services.kiosk_revoke(kiosk=kiosk)
        self.message_user(request, f"Revoked {queryset.count()} kiosk(s).", messages.SUCCESS)


@admin.register(CheckinAttempt)
class CheckinAttemptAdmin(admin.ModelAdmin):
    list_display = [
        "time",
        "kiosk",
        "state",
        "outcome",
        "person",
        "distance_shown",
        "confidence_shown",
        "recogniser_version",
        "latency_ms",
        "liveness_reason",
        "frame_kept",
    ]
    list_filter = ["state", "outcome", "by_pin", "liveness_reason", "kiosk"]
    date_hierarchy = "created_at"
    search_fields = ["person__full_name", "person__employee_id"]
    # The frame itself is biometric data and is not shown here (it has no public URL).
    exclude = ["frame"]
    list_select_related = ["kiosk", "person", "recogniser_version"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in CheckinAttempt._meta.fields if f.name != "frame"] + ["frame_kept"]

    @admin.display(description="frame kept")
    def frame_kept(self, obj) -> str:
        # A kept frame (a PIN punch's evidence) opens in HR's private, audited view; never a media URL.
        if not obj.frame:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">view</a>', reverse("checkin-frame", args=[obj.pk])
        )

    # Numbers as people read them: the local time to the second, the recogniser's figures to 2 decimals
    # (distance to the person's template; confidence 0-1, how far inside the threshold).
    @admin.display(description="time", ordering="created_at")
    def time(self, obj) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="distance", ordering="distance")
    def distance_shown(self, obj) -> str:
        return "—" if obj.distance is None else f"{obj.distance:.2f}"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_shown(self, obj) -> str:
        return "—" if obj.confidence is None else f"{obj.confidence:.2f}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttendanceEventForm(forms.ModelForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: why this event is added or changed (kept with your name and the time).",
    )

    class Meta:
        model = AttendanceEvent
        fields = ["person", "kind", "timestamp", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["reason"] = ""  # every change states its own reason

    def clean_timestamp(self):
        timestamp = self.cleaned_data["timestamp"]
        if timestamp and timestamp > timezone.now() + services.FUTURE_ALLOWANCE:
            raise forms.ValidationError(
                "This time is in the future: give the time the entry or exit really happened."
            )
        return timestamp

    def clean(self):
        data = super().clean()
        person, timestamp = data.get("person"), data.get("timestamp")
        days = [self.instance.workday] if self.instance.pk else []
        if person is not None and timestamp is not None:
            days.append(person_clock(person, timestamp).workday(timestamp))
        for day in days:
            if services.pay_period_locked_on(day) is not None:
                raise forms.ValidationError(
                    f"{day:%a %d %b %Y} is in a pay period that is approved and locked: reopen it "
                    "(Pay periods, on the site, with a reason) before changing attendance in it."
                )
        return data


@admin.register(AttendanceEvent)
class AttendanceEventAdmin(admin.ModelAdmin):
    form = AttendanceEventForm
    list_display = [
        "timestamp",
        "person_link",
        "kind",
        "workday",
        "source",
        "kiosk",
        "created_by",
        "updated_by",
        "reason",
    ]
    list_filter = ["kind", "source", "kiosk", "workday"]
    date_hierarchy = "timestamp"
    search_fields = ["person__full_name", "person__employee_id"]
    list_select_related = ["person", "kiosk", "created_by", "updated_by"]
    readonly_fields = [
        "workday",
        "source",
        "kiosk",
        "attempt",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    ]

    def get_fields(self, request, obj=None):
        fields = ["person", "kind", "timestamp", "reason"]
        return fields + self.readonly_fields if obj else fields

    @admin.display(description="person", ordering="person__full_name")
    def person_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("person-attendance", args=[obj.person_id]), obj.person
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each with a reason
        return actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.attendance_event_change(
                event=obj,
                person=data["person"],
                kind=data["kind"],
                timestamp=data["timestamp"],
                reason=data["reason"],
                by=request.user,
            )
        else:
            saved = services.attendance_event_add(
                person=data["person"],
                kind=data["kind"],
                timestamp=data["timestamp"],
                reason=data["reason"],
                by=request.user,
            )
        obj.pk = saved.pk
        obj.workday = saved.workday

    def delete_view(self, request, object_id, extra_context=None):
        event = AttendanceEvent.objects.filter(pk=object_id).only("workday").first()
        locked = event is not None and services.pay_period_locked_on(event.workday) is not None
        problem = ""
        if locked:
            problem = "This event's day is in a pay period that is approved and locked: reopen it first."
        elif request.method == "POST" and not request.POST.get("reason", "").strip():
            problem = "Say why this event is deleted."
        if request.method == "POST" and problem:
            # Show the confirmation again instead of deleting: a reason is required, a lock must go.
            request.POST = QueryDict()
        if problem:
            extra_context = {**(extra_context or {}), "reason_error": problem}
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.attendance_event_delete(event=obj, reason=request.POST.get("reason", ""), by=request.user)


@admin.register(AttendanceEventLog)
class AttendanceEventLogAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "event_pk", "person", "by", "reason"]
    list_filter = ["action"]
    date_hierarchy = "at"
    search_fields = ["person__full_name", "reason"]
    list_select_related = ["person", "by"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AttendanceEventLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
