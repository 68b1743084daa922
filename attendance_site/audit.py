"""Record who viewed or changed face data and attendance events.

Views are recorded by a middleware from the URL names below, so that a new page showing such
data is one line here; changes made in the admin arrive through Django's own admin log; services
that delete biometric data call `audit_record` themselves.
"""

from __future__ import annotations

import logging

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save

from attendance_site.models import AuditEntry

log = logging.getLogger(__name__)

# URL name -> (what is shown, the URL argument naming the record, how to find its person).
VIEWED: dict[str, tuple[str, str, str]] = {
    "people:face-image": ("face photo", "pk", "face"),
    "people:face-image-thumbnail": ("face photo thumbnail", "pk", "face"),
    "people:webcam-enrol": ("webcam enrolment", "pk", "person"),
    "person-attendance": ("attendance history", "person_id", "person"),
    "admin:people_person_change": ("person with face photos", "object_id", "person"),
    "admin:people_faceimage_change": ("face photo", "object_id", "face"),
    "admin:people_faceimage_changelist": ("face photo list", "", ""),
    "admin:attendance_attendanceevent_change": ("attendance event", "object_id", "event"),
    "admin:attendance_attendanceevent_changelist": ("attendance event list", "", ""),
    "admin:attendance_checkinattempt_change": ("check-in attempt", "object_id", "attempt"),
    "checkin-frame": ("check-in frame", "attempt_id", "attempt"),
}
EXPORTED_PREFIX = "reports:"
EXPORT_SUFFIXES = ("-csv", "-xlsx")
# The JSON report API hands out the same rows as an export: every read is logged, with its filters.
API_PREFIX = "reports:api-"
AUDITED_MODELS = {
    ("people", "person"): "person",
    ("people", "faceimage"): "face photo",
    ("attendance", "attendanceevent"): "attendance event",
    ("attendance", "kiosk"): "kiosk",
}
ADMIN_ACTIONS = {
    ADDITION: AuditEntry.Action.ADD,
    CHANGE: AuditEntry.Action.CHANGE,
    DELETION: AuditEntry.Action.DELETE,
}


def audit_record(
    *, user, action: str, what: str, object_id: str = "", person: str = "", path: str = "", detail: str = ""
) -> AuditEntry:
    """Append one entry to the audit log (`user` may be None for the system)."""
    return AuditEntry.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "",
        action=action,
        what=what,
        object_id=str(object_id)[:64],
        person=person[:250],
        path=path[:300],
        detail=detail,
    )


def person_label(person) -> str:
    return f"{person.employee_id} {person.full_name}" if person is not None else ""


def _person_of(kind: str, object_id: str) -> str:
    from attendance.models import AttendanceEvent, CheckinAttempt
    from people.models import FaceImage, Person

    lookups = {
        "person": lambda: Person.objects.filter(pk=object_id).first(),
        "face": lambda: getattr(
            FaceImage.objects.select_related("person").filter(pk=object_id).first(), "person", None
        ),
        "event": lambda: getattr(
            AttendanceEvent.objects.select_related("person").filter(pk=object_id).first(), "person", None
        ),
        "attempt": lambda: getattr(
            CheckinAttempt.objects.select_related("person").filter(pk=object_id).first(), "person", None
        ),
    }
    try:
        return person_label(lookups[kind]()) if kind in lookups else ""
    except (ValueError, TypeError):  # a malformed id in the URL: the view itself answered 404
        return ""


class AuditMiddleware:
    """Log every successful page view of face data or attendance records, and every report export."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if match is None or response.status_code != 200 or not getattr(user, "is_authenticated", False):
            return response
        try:
            self._record(request, match, user)
        except Exception as exc:  # never lose the page over the log; say so loudly
            log.error("audit entry not written for %s: %s", request.path, exc)
        return response

    def _record(self, request, match, user) -> None:
        name = match.view_name
        if name in VIEWED and request.method == "GET":
            what, argument, kind = VIEWED[name]
            object_id = str(match.kwargs.get(argument, "")) if argument else ""
            audit_record(
                user=user, action=AuditEntry.Action.VIEW, what=what, object_id=object_id,
                person=_person_of(kind, object_id) if object_id else "", path=request.get_full_path(),
            )  # fmt: skip
        elif name.startswith(API_PREFIX) and request.method == "GET":
            audit_record(
                user=user, action=AuditEntry.Action.VIEW, what=f"report API: {name.removeprefix(API_PREFIX)}",
                path=request.get_full_path(),
            )  # fmt: skip
        elif name.startswith(EXPORTED_PREFIX) and name.endswith(EXPORT_SUFFIXES):
            audit_record(
                user=user, action=AuditEntry.Action.EXPORT, what=name.removeprefix(EXPORTED_PREFIX),
                path=request.get_full_path(),
            )  # fmt: skip


def _admin_change_logged(sender, instance: LogEntry, created: bool, **_kwargs) -> None:
    """Mirror the admin's own log of changes to audited records into the audit log."""
    if not created or instance.content_type is None:
        return
    key = (instance.content_type.app_label, instance.content_type.model)
    if key not in AUDITED_MODELS:
        return
    kind = {"person": "person", "faceimage": "face", "attendanceevent": "event"}.get(key[1], "")
    person = _person_of(kind, instance.object_id) if kind and instance.action_flag != DELETION else ""
    audit_record(
        user=instance.user, action=ADMIN_ACTIONS.get(instance.action_flag, AuditEntry.Action.CHANGE),
        what=AUDITED_MODELS[key], object_id=instance.object_id or "",
        person=person or (instance.object_repr if key[1] == "person" else ""),
        detail=instance.get_change_message(),
    )  # fmt: skip


def connect() -> None:
    post_save.connect(_admin_change_logged, sender=LogEntry, dispatch_uid="attendance_site.audit")
