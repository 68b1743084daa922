"""Employees, their departments and their face photos."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class WorkSchedule(models.Model):
    """A weekly working pattern people are assigned to: which weekdays, when a shift starts and ends.

    A shift whose end is not after its start crosses midnight (22:00-06:00). A person's workday
    boundary is `workday_boundary` when set, else halfway through the off-shift gap of the
    schedule's first working weekday (attendance.clock.boundary_between).
    """

    name = models.CharField(max_length=100, unique=True)
    break_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Unpaid break inside each shift: expected hours leave it out."
    )
    late_grace_minutes = models.PositiveSmallIntegerField(
        default=5, help_text="A first entry more than this many minutes after the shift start is late."
    )
    workday_boundary = models.TimeField(
        null=True,
        blank=True,
        help_text="When this schedule's workday starts. Leave blank: halfway through the off-shift gap.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScheduleDay(models.Model):
    """One working weekday of a schedule; a weekday without a row is a day off."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    schedule = models.ForeignKey(WorkSchedule, on_delete=models.CASCADE, related_name="days")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="Not after the start: the shift ends the next day.")

    class Meta:
        ordering = ["schedule", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "weekday"], name="schedule_day_once_per_weekday")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Department(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentText(models.Model):
    """A version of the face data consent text people agree to before enrolment.

    The newest is the current one. A text that somebody agreed to is never changed (the admin
    refuses): a new wording is a new version, so what each person agreed to stays on record.
    """

    version = models.CharField(max_length=50, unique=True, help_text="A short name, e.g. 2026-1.")
    text = models.TextField(
        help_text="The words the person reads and agrees to; blank lines separate paragraphs."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Consent text {self.version}"


class Person(models.Model):
    employee_id = models.CharField(max_length=50, unique=True)
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    is_active = models.BooleanField("active", default=True)
    # When the person was last switched to inactive: the retention policy counts from here.
    deactivated_at = models.DateTimeField(null=True, blank=True, editable=False)
    shift_start = models.TimeField(default=dt.time(9, 0))
    shift_end = models.TimeField(default=dt.time(17, 0))
    # Days before the start or after the end are never counted as absences.
    employment_start = models.DateField(null=True, blank=True, help_text="First day of work.")
    employment_end = models.DateField(null=True, blank=True, help_text="Last day of work, if known.")
    # Holidays follow where someone works (their site or country), not their shift or department.
    holiday_calendar = models.ForeignKey(
        "HolidayCalendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="people",
        help_text="Their site's holidays; empty means the default calendar.",
    )
    # The person's own login, to see their own timesheet (no report permission needed).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
        help_text="The employee's own site account: they see their own timesheet at /me/timesheet/.",
    )
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consent_text_version = models.CharField(max_length=50, blank=True)
    # Set by the enrolment worker when this person's face matches somebody else's: HR checks it.
    possible_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duplicate_distance = models.FloatField(null=True, blank=True)
    # HR checked a flag and found two different people: this one is never flagged against them again.
    not_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return f"{self.full_name} ({self.employee_id})"

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name else ""


def face_image_path(instance: FaceImage, filename: str) -> str:
    """Store photos under an unguessable name in a per-person folder of private storage."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"faces/{instance.person_id}/{uuid.uuid4().hex}.{suffix[:5]}"


class FaceImage(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded file"
        WEBCAM = "webcam", "Webcam shot"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="face_images")
    image = models.FileField(upload_to=face_image_path, max_length=255)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UPLOAD)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The pose a guided webcam shot asked for (people.rules.POSES); blank for uploads.
    asked_pose = models.CharField(max_length=10, blank=True, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    rejection_reason = models.TextField(blank=True)
    # Detected face: box as [x, y, w, h] in pixels, landmarks as {name: [x, y]}.
    box = models.JSONField(null=True, blank=True)
    landmarks = models.JSONField(null=True, blank=True)
    # Quality numbers: face_px, confidence, sharpness, brightness, yaw, roll.
    quality = models.JSONField(null=True, blank=True)
    # 128 little-endian float32 (512 bytes): portable across PostgreSQL and SQLite.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedder_version = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "created_at"]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.person}"


def zip_import_photo_path(instance: ZipImportPhoto, filename: str) -> str:
    """Stage a zip's photos under unguessable names in private storage until the import ends."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"zip-imports/{instance.zip_import_id}/{uuid.uuid4().hex}.{suffix[:5]}"


class ZipImport(models.Model):
    """A zip imported with "refuse the whole zip if any photo is unusable".

    Its photos are staged (ZipImportPhoto) and checked by the enrolment worker before anything is
    saved for the people; only when every photo has a usable face are the people and photos created,
    in one transaction. Either way the staged files are deleted when the import ends.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking the photos"
        SAVED = "saved", "Saved"
        REFUSED = "refused", "Refused: nothing saved"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKING, db_index=True)
    file_name = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    create_missing = models.BooleanField(default=False)
    create_departments = models.BooleanField(default=False)
    # The consent text version the form showed when HR confirmed consent for the people it creates.
    consent_text_version = models.CharField(max_length=50, blank=True)
    # The rows of the zip's people.csv: {employee_id: {"full_name", "department", "email", "row"}}.
    people = models.JSONField(default=dict, blank=True)
    # What happened, in words HR can act on (why it was refused, or what was saved).
    outcome = models.TextField(blank=True)
    people_created = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "zip import"

    def __str__(self) -> str:
        return f"Zip import {self.pk} ({self.get_status_display().lower()})"


class ZipImportPhoto(models.Model):
    """One photo of a staged zip import and what the enrolment worker found in it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be checked"
        USABLE = "usable", "Usable"
        UNUSABLE = "unusable", "Unusable"

    zip_import = models.ForeignKey(ZipImport, on_delete=models.CASCADE, related_name="photos")
    folder = models.CharField(max_length=50)
    name = models.CharField(max_length=500, help_text="The file's path inside the zip.")
    # Emptied when the import ends: the file is moved to the person's photos or deleted.
    image = models.FileField(upload_to=zip_import_photo_path, max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    # The worker's findings (box, landmarks, quality, embedding), reused when the photo is saved.
    analysis = models.JSONField(null=True, blank=True)
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedder_version = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["zip_import", "pk"]

    def __str__(self) -> str:
        return self.name


class ScheduleAssignment(models.Model):
    """A person works to a schedule from a date on, until their next assignment starts."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="schedule_assignments")
    schedule = models.ForeignKey(WorkSchedule, on_delete=models.PROTECT, related_name="assignments")
    start_date = models.DateField()

    class Meta:
        ordering = ["person", "-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["person", "start_date"], name="one_schedule_per_person_and_date")
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.schedule} from {self.start_date}"


class HolidayCalendar(models.Model):
    """A list of holidays for one site or country; each person follows one, others the default one."""

    name = models.CharField(max_length=100, unique=True)
    # Used by `manage.py holidays_prefill` to add the public holidays of this country (ISO code).
    country = models.CharField(max_length=2, blank=True, help_text="ISO country code, e.g. DE.")
    subdivision = models.CharField(max_length=10, blank=True, help_text="State or region code, e.g. BY.")
    is_default = models.BooleanField(
        "default", default=False, help_text="Followed by everybody who has no calendar of their own."
    )

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_holiday_calendar",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The country and subdivision must be ones the `holidays` package knows, so prefill works."""
        import holidays as public_holidays

        self.country, self.subdivision = self.country.strip().upper(), self.subdivision.strip().upper()
        supported = public_holidays.list_supported_countries()
        if self.country and self.country not in supported:
            raise ValidationError(
                {"country": f"Unknown country code {self.country!r}: use an ISO code such as DE."}
            )
        if self.subdivision and not self.country:
            raise ValidationError({"subdivision": "Choose the country of this subdivision too."})
        if self.subdivision and self.subdivision not in supported[self.country]:
            raise ValidationError(
                {
                    "subdivision": f"{self.country} has no subdivision {self.subdivision!r}: use one of "
                    f"{', '.join(supported[self.country][:12])}..."
                }
            )


DEFAULT_HOLIDAY_CALENDAR = "Company holidays"


def default_holiday_calendar_id() -> int:
    """Return the default calendar's id, creating it if there is none (new holidays go there)."""
    found = HolidayCalendar.objects.filter(is_default=True).values_list("pk", flat=True).first()
    if found is None:
        found = HolidayCalendar.objects.create(name=DEFAULT_HOLIDAY_CALENDAR, is_default=True).pk
    return found


class Holiday(models.Model):
    """A holiday of one calendar: nobody following it is expected at work, nobody is absent."""

    calendar = models.ForeignKey(
        HolidayCalendar,
        on_delete=models.CASCADE,
        related_name="holidays",
        default=default_holiday_calendar_id,
    )
    date = models.DateField()
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="one_holiday_per_calendar_and_date")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.date})"


class Leave(models.Model):
    """Leave entered by HR: a range of whole days, or half of one day."""

    class Kind(models.TextChoices):
        VACATION = "vacation", "Vacation"
        SICK = "sick", "Sick leave"
        UNPAID = "unpaid", "Unpaid leave"
        OTHER = "other", "Other"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="leaves")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.VACATION)
    start_date = models.DateField()
    end_date = models.DateField(help_text="The last day of leave, included.")
    half_day = models.BooleanField(
        default=False, help_text="Half a day only: the start and end date must be the same day."
    )
    note = models.CharField(max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="leave_ends_after_it_starts"
            ),
            models.CheckConstraint(
                condition=models.Q(half_day=False) | models.Q(end_date=models.F("start_date")),
                name="half_day_leave_is_one_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.person}, {self.start_date} to {self.end_date}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.start_date and self.end_date:
            if self.end_date < self.start_date:
                raise ValidationError(
                    {"end_date": "The leave ends before it starts: set an end date on or after the start."}
                )
            if self.half_day and self.end_date != self.start_date:
                raise ValidationError(
                    {"half_day": "A half day is one day: set the end date to the start date."}
                )


class CorrectionRequest(models.Model):
    """An employee's request to fix their attendance, decided by a manager or HR: a missed entry or exit,
    a wrong time on an existing event, or leave.

    Approving changes events through attendance.services (audited, with the request's reason), or, for
    leave, adds the Leave row.
    """

    class Kind(models.TextChoices):
        MISSED_ENTRY = "in", "Missed entry"
        MISSED_EXIT = "out", "Missed exit"
        WRONG_TIME = "time", "Wrong time"
        LEAVE = "leave", "Leave"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="correction_requests")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    moment = models.DateTimeField(
        null=True, blank=True, help_text="When the entry or exit happened (the right time, for a wrong time)."
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(
        max_length=300, blank=True, help_text="What the decider told the employee."
    )
    # When the employee was told of the decision by e-mail (sent once).
    decision_mailed_at = models.DateTimeField(null=True, blank=True)
    # The attendance event the request is about (a wrong time) or that its approval added (a missed
    # entry or exit): attendance.AttendanceEvent, an id, so that people does not depend on attendance.
    event_id = models.BigIntegerField(null=True, blank=True)
    # A wrong time: the event's time when the request was made, as the employee saw it.
    previous_moment = models.DateTimeField(null=True, blank=True)
    # Leave: its kind, first and last day, half a day or not; approving adds `leave`.
    leave_kind = models.CharField(max_length=10, choices=Leave.Kind.choices, blank=True)
    leave_start = models.DateField(null=True, blank=True)
    leave_end = models.DateField(null=True, blank=True)
    half_day = models.BooleanField(default=False)
    leave = models.ForeignKey(Leave, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.what} of {self.person} ({self.status})"

    @property
    def what(self) -> str:
        """Describe the request in a few words, for pages and e-mails."""
        local = timezone.localtime
        if self.kind == self.Kind.LEAVE:
            days = f"{self.leave_start:%a %d %b %Y}"
            if self.leave_end and self.leave_end != self.leave_start:
                days += f" to {self.leave_end:%a %d %b %Y}"
            return f"{self.get_leave_kind_display()}{' (half day)' if self.half_day else ''}, {days}"
        if self.kind == self.Kind.WRONG_TIME and self.previous_moment and self.moment:
            before, after = local(self.previous_moment), local(self.moment)
            return f"Wrong time: {before:%a %d %b %H:%M} should be {after:%a %d %b %H:%M}"
        return f"{self.get_kind_display()} at {local(self.moment):%a %d %b %Y %H:%M}" if self.moment else ""
