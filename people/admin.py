"""The HR admin for enrolment: people with consent and face photos, departments, bulk zip, webcam."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import linebreaks_filter
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from attendance_site.privacy import person_biometrics_delete, person_erase
from people.forms import (
    HolidayAdminForm,
    HolidayInlineFormSet,
    LeaveAdminForm,
    PersonAdminForm,
    ZipEnrolForm,
    locked_pay_period_between,
)
from people.models import (
    ConsentText,
    Department,
    FaceImage,
    Holiday,
    HolidayCalendar,
    Leave,
    Person,
    ScheduleAssignment,
    ScheduleDay,
    WorkSchedule,
    ZipImport,
    ZipImportPhoto,
)
from people.rules import PEOPLE_CSV_COLUMNS, EnrolmentState
from people.selectors import (
    consent_text_current,
    people_in_state,
    people_with_photo_counts,
    person_enrolment_state,
    zip_imports_with_counts,
)
from people.services import (
    face_image_add,
    face_image_delete,
    face_image_reprocess,
    person_consent_record,
    person_duplicate_dismiss,
    person_saved,
    zip_enrol,
    zip_import_stage,
)


def thumbnail_html(image: FaceImage) -> str:
    if not image.pk:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="Face photo {}" '
        'class="face-thumb" data-photo-id="{}" loading="lazy" style="max-height:120px"></a>',
        reverse("people:face-image", args=[image.pk]),
        reverse("people:face-image-thumbnail", args=[image.pk]),
        image.pk,
        image.pk,
    )


def quality_html(image: FaceImage) -> str:
    q = image.quality or {}
    if not q:
        return "-"
    return format_html(
        "face {} px, sharpness {}, brightness {}, yaw {}°, roll {}°",
        round(q.get("face_size_px", 0)),
        round(q.get("sharpness", 0)),
        round(q.get("brightness", 0)),
        round(q.get("yaw_deg", 0)),
        round(q.get("roll_deg", 0)),
    )


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    """Consent texts with versions: HR adds a new version; one somebody agreed to never changes."""

    list_display = ["version", "created_at", "created_by", "agreed", "print_link"]
    fields = ["version", "text"]
    search_fields = ["version", "text"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    def has_change_permission(self, request, obj=None):
        if obj is not None and Person.objects.filter(consent_text_version=obj.version).exists():
            return False  # people agreed to these words: a new wording is a new version
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="People who agreed")
    def agreed(self, text):
        return Person.objects.filter(consent_text_version=text.version).count()

    @admin.display(description="")
    def print_link(self, text):
        return format_html(
            '<a href="{}">Print</a>', reverse("admin:people_consenttext_print", args=[text.pk])
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.print_view)
        return [path("<path:object_id>/print/", view, name="people_consenttext_print"), *super().get_urls()]

    def print_view(self, request, object_id):
        """The text on a page of its own, to print and sign, with a line for the name and date."""
        text = self.get_object(request, object_id)
        if text is None:
            raise Http404("No such consent text.")
        if not self.has_view_permission(request, text):
            raise PermissionDenied
        return TemplateResponse(request, "admin/people/consenttext/print.html", {"consent_text": text})


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class FaceImageInline(admin.TabularInline):
    model = FaceImage
    extra = 0
    can_delete = True
    fields = [
        "thumbnail",
        "status_badge",
        "rejection_reason",
        "quality_summary",
        "source",
        "uploaded_by",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["created_at"]

    def has_add_permission(self, request, obj=None):
        return False  # photos are added through the form's multiple-file field or the webcam page

    @admin.display(description="Photo")
    def thumbnail(self, image):
        return thumbnail_html(image)

    @admin.display(description="Status")
    def status_badge(self, image):
        return format_html(
            '<span class="photo-status status-{}" data-photo-id="{}">{}</span>',
            image.status,
            image.pk,
            image.get_status_display(),
        )

    @admin.display(description="Quality")
    def quality_summary(self, image):
        return quality_html(image)


class EnrolmentStateFilter(admin.SimpleListFilter):
    title = "enrolment state"
    parameter_name = "enrolment"

    def lookups(self, request, model_admin):
        return [(state.value, state.label) for state in EnrolmentState]

    def queryset(self, request, queryset):
        if self.value() in EnrolmentState._value2member_map_:
            return people_in_state(queryset, EnrolmentState(self.value()))
        return queryset


@admin.register(ScheduleAssignment)
class ScheduleAssignmentAdmin(admin.ModelAdmin):
    """Who works to which schedule from when (the person's page keeps its form for enrolment)."""

    list_display = ["person", "schedule", "start_date"]
    list_filter = ["schedule", "person__department"]
    search_fields = ["person__full_name", "person__employee_id"]
    autocomplete_fields = ["person"]
    list_select_related = ["person", "schedule"]


class ScheduleDayInline(admin.TabularInline):
    model = ScheduleDay
    extra = 0
    verbose_name = "working weekday"
    verbose_name_plural = "Working weekdays (a weekday not listed is a day off)"


@admin.register(WorkSchedule)
class WorkScheduleAdmin(admin.ModelAdmin):
    inlines = [ScheduleDayInline]
    list_display = ["name", "pattern", "break_minutes", "late_grace_minutes", "workday_boundary"]
    search_fields = ["name"]

    @admin.display(description="Working days")
    def pattern(self, schedule):
        return ", ".join(str(day) for day in schedule.days.all()) or "No working day"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("days")


class HolidayInline(admin.TabularInline):
    model = Holiday
    form = HolidayAdminForm
    formset = HolidayInlineFormSet
    fields = ["date", "name"]
    extra = 1


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(admin.ModelAdmin):
    """A site's or country's holidays, edited in one place; `holidays_prefill --calendar` fills one."""

    inlines = [HolidayInline]
    list_display = ["name", "country", "subdivision", "is_default", "holiday_count", "people_count"]
    search_fields = ["name"]

    @admin.display(description="Holidays")
    def holiday_count(self, calendar):
        return calendar.holiday_count

    @admin.display(description="People")
    def people_count(self, calendar):
        return "Everybody without a calendar" if calendar.is_default else calendar.people_count

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                holiday_count=Count("holidays", distinct=True),
                people_count=Count("people", filter=Q(people__is_active=True), distinct=True),
            )
        )

    def has_delete_permission(self, request, obj=None):
        # The default calendar is what everybody without a calendar follows: make another the default first.
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    form = HolidayAdminForm
    list_display = ["date", "name", "calendar"]
    list_filter = ["calendar"]
    date_hierarchy = "date"
    search_fields = ["name"]
    list_select_related = ["calendar"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and locked_pay_period_between(obj.date, obj.date) is not None:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Leave)
class LeaveAdmin(admin.ModelAdmin):
    form = LeaveAdminForm
    list_display = ["person", "kind", "start_date", "end_date", "half_day", "entered_by"]
    list_filter = ["kind", "person__department"]
    date_hierarchy = "start_date"
    search_fields = ["person__full_name", "person__employee_id"]
    autocomplete_fields = ["person"]
    readonly_fields = ["entered_by"]
    list_select_related = ["person", "entered_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.entered_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Leave on days of a locked pay period stays until the period is reopened.
        if obj is not None and locked_pay_period_between(obj.start_date, obj.end_date) is not None:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonAdminForm
    inlines = [FaceImageInline]
    list_display = [
        "full_name",
        "employee_id",
        "department",
        "is_active",
        "accepted_photos",
        "enrolment_state",
        "consent_recorded",
        "duplicate_flag",
    ]
    list_filter = ["department", "is_active", "holiday_calendar", EnrolmentStateFilter]
    search_fields = ["full_name", "employee_id", "email"]
    list_select_related = ["department", "possible_duplicate_of"]
    readonly_fields = ["duplicate_details", "consent_text_shown"]
    actions = ["not_a_duplicate", "delete_biometric_data"]
    change_form_template = "admin/people/person/change_form.html"
    change_list_template = "admin/people/person/change_list.html"
    fieldsets = [
        (None, {"fields": ["employee_id", "full_name", "email", "department", "is_active"]}),
        ("Shift", {"fields": ["shift_start", "shift_end"]}),
        ("Employment", {"fields": ["employment_start", "employment_end", "holiday_calendar", "user"]}),
        ("Consent", {"fields": ["consent", "shown_consent_version", "consent_text_shown"]}),
        ("Face photos", {"fields": ["photos", "duplicate_details"]}),
    ]

    def get_queryset(self, request):
        return people_with_photo_counts(super().get_queryset(request))

    @admin.display(description="Accepted photos", ordering="accepted_count")
    def accepted_photos(self, person):
        return person.accepted_count

    @admin.display(description="Enrolment")
    def enrolment_state(self, person):
        return person_enrolment_state(person).label

    @admin.display(description="Consent", boolean=True)
    def consent_recorded(self, person):
        return person.consent_given_at is not None

    @admin.display(description="Consent text")
    def consent_text_shown(self, person):
        """The text this person agreed to, or the one to show them now."""
        version = person.consent_text_version if person.pk and person.consent_given_at else None
        text = ConsentText.objects.filter(version=version).first() if version else consent_text_current()
        if text is None:
            return "No consent text yet."
        return format_html(
            '<div class="consent-text" id="consent-text">{}</div><p><a href="{}" target="_blank" '
            'rel="noopener">Print version {}</a></p>',
            linebreaks_filter(text.text.strip(), autoescape=True),
            reverse("admin:people_consenttext_print", args=[text.pk]),
            text.version,
        )

    @admin.display(description="Possible duplicate")
    def duplicate_flag(self, person):
        if not person.possible_duplicate_of_id:
            return ""
        return f"{person.possible_duplicate_of} (distance {person.duplicate_distance or 0:.2f})"

    @admin.display(description="Possible duplicate")
    def duplicate_details(self, person):
        if not person.possible_duplicate_of_id:
            return "None found"
        return format_html(
            '<strong>This face matches <a href="{}">{}</a></strong> (distance {}; below {} means the same '
            "face is likely). Until you decide, this person's photos are kept out of recognition. "
            "Same person: delete the extra record. Different people: select this person in the "
            '<a href="{}">list of possible duplicates</a> and run "Not the same person: use their photos".',
            reverse("admin:people_person_change", args=[person.possible_duplicate_of_id]),
            person.possible_duplicate_of,
            f"{person.duplicate_distance or 0:.2f}",
            f"{settings.ENROLMENT_DUPLICATE_DISTANCE:.2f}",
            reverse("admin:people_person_changelist") + "?possible_duplicate_of__isnull=False",
        )

    def save_model(self, request, obj, form, change):
        obj.save()
        if form.consent_newly_given:
            person_consent_record(
                person=obj, recorded_by=request.user, text_version=form.cleaned_data["shown_consent_version"]
            )
        if change:
            person_saved(person=obj, changed=form.changed_data)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        photos = form.cleaned_data.get("photos") or []
        for upload, checked in photos:
            face_image_add(
                person=form.instance,
                upload=upload,
                source=FaceImage.Source.UPLOAD,
                uploaded_by=request.user,
                checked=checked,
            )
        if photos:
            messages.info(request, f"{len(photos)} photo(s) added; they are being checked in the background.")

    def save_formset(self, request, form, formset, change):
        if formset.model is not FaceImage:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for image in formset.deleted_objects:
            face_image_delete(face_image=image)
        for image in formset.changed_objects:  # nothing editable today; keep Django's contract
            image[0].save()

    @admin.action(description="Not the same person: use their photos", permissions=["change"])
    def not_a_duplicate(self, request, queryset):
        """Clear the possible-duplicate flag after checking: the photos join the next training run."""
        flagged = list(queryset.filter(possible_duplicate_of__isnull=False))
        for person in flagged:
            person_duplicate_dismiss(person=person, by=request.user)
        messages.success(
            request,
            f"{len(flagged)} person(s) checked as not a duplicate; their photos join the next training run."
            if flagged
            else "None of the selected people was flagged as a possible duplicate.",
        )

    @admin.action(description="Delete biometric data (keeps attendance)", permissions=["delete"])
    def delete_biometric_data(self, request, queryset):
        """Ask for confirmation and a reason, then delete the selected people's face data."""
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/people/person/delete_biometrics_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Delete biometric data",
                    "people": queryset,
                    "previews": [person_biometrics_delete(person=p, dry_run=True) for p in queryset],
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        reason = request.POST.get("reason", "").strip()
        for person in queryset:
            result = person_biometrics_delete(person=person, by=request.user, reason=reason)
            messages.success(
                request,
                f"Deleted {result.photos} face photos and {result.frames} check-in frames of "
                f"{result.person}; attendance kept, retraining queued.",
            )
        return None

    def delete_model(self, request, obj):
        person_erase(person=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for person in queryset:
            person_erase(person=person, by=request.user)

    def get_urls(self):
        urls = [
            path("import-zip/", self.admin_site.admin_view(self.zip_view), name="people_person_import_zip"),
        ]
        return urls + super().get_urls()

    def zip_view(self, request):
        """Bulk enrolment from a zip: all or nothing after the worker's check, or keep the good photos."""
        if not (self.has_add_permission(request) and request.user.has_perm("people.add_faceimage")):
            raise PermissionDenied
        form = ZipEnrolForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            options = {
                "contents": data["contents"],
                "uploaded_by": request.user,
                "create_missing": data["create_missing"],
                "create_departments": data["create_departments"],
            }
            try:
                with transaction.atomic():
                    if data["mode"] == ZipEnrolForm.ALL_OR_NOTHING:
                        batch = zip_import_stage(**options, file_name=data["archive"].name)
                    else:
                        result = zip_enrol(**options)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if data["mode"] == ZipEnrolForm.ALL_OR_NOTHING:
                    messages.info(
                        request,
                        f"{data['contents'].photo_count} photo(s) are being checked; nothing is saved "
                        "unless every one shows a usable face.",
                    )
                    return redirect("admin:people_zipimport_change", batch.pk)
                created = len(result.people_created)
                named = (
                    f": {result.named_from_csv} named from people.csv, "
                    f"{created - result.named_from_csv} after their folder"
                    if created
                    else ""
                )
                messages.success(
                    request,
                    f"{result.photos_added} photo(s) added for {len(data['contents'].by_folder)} people "
                    f"({created} created{named}); they are being checked in the background, and any "
                    "without a usable face is rejected on its own.",
                )
                return redirect("admin:people_person_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Bulk enrolment from a zip",
            "form": form,
            "opts": self.model._meta,
            "max_mb": settings.ENROLMENT_MAX_ZIP_BYTES // 1_000_000,
            "csv_columns": PEOPLE_CSV_COLUMNS,
        }
        return TemplateResponse(request, "admin/people/person/zip_import.html", context)


@admin.register(ZipImport)
class ZipImportAdmin(admin.ModelAdmin):
    """The all-or-nothing zip imports: their progress while the worker checks, then what happened."""

    list_display = ["__str__", "file_name", "created_by", "created_at", "status", "photo_summary"]
    list_filter = ["status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return zip_imports_with_counts(super().get_queryset(request))

    @admin.display(description="Photos")
    def photo_summary(self, batch):
        return f"{batch.checked_count} of {batch.photo_count} checked, {batch.unusable_count} unusable"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show one import: a progress bar while checking (the page refreshes it), then the outcome."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(zip_imports_with_counts(ZipImport.objects.all()), pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Zip import {batch.pk}",
            "opts": self.model._meta,
            "batch": batch,
            "unusable": batch.photos.filter(status=ZipImportPhoto.Status.UNUSABLE).order_by("pk"),
            "created": Person.objects.filter(employee_id__in=batch.people_created).order_by("employee_id"),
        }
        return TemplateResponse(request, "admin/people/zipimport/status.html", context)


@admin.register(FaceImage)
class FaceImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "person", "status", "rejection_reason", "source", "created_at"]
    # The thumbnail is a link to the photo already: a link around it would nest links (axe: link-name).
    list_display_links = ["person"]
    list_filter = ["status", "source"]
    search_fields = ["person__full_name", "person__employee_id"]
    list_select_related = ["person"]
    fields = ["thumbnail", "person", "status", "rejection_reason", "quality_summary", "source", "uploaded_by"]
    readonly_fields = fields
    actions = ["process_again"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Photo")
    def thumbnail(self, image):
        return thumbnail_html(image)

    @admin.display(description="Quality")
    def quality_summary(self, image):
        return quality_html(image)

    @admin.action(description="Check selected photos again", permissions=["change"])
    def process_again(self, request, queryset):
        for image in queryset:
            face_image_reprocess(face_image=image)
        self.message_user(request, f"{queryset.count()} photo(s) queued to be checked again.")

    def delete_model(self, request, obj):
        face_image_delete(face_image=obj)

    def delete_queryset(self, request, queryset):
        for image in queryset.select_related("person"):
            face_image_delete(face_image=image)
