"""What the home page shows each role: the next things to do, and for administrators the system's state.

Reads only (selectors); the page itself is attendance's `home` view, which renders templates/home.html,
and the template asks for these through the `home` template tags.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone


@dataclass(frozen=True)
class Step:
    """One line of a checklist: done or not, and where to do it."""

    what: str
    done: bool
    url: str
    hint: str = ""


@dataclass(frozen=True)
class Todo:
    """Something waiting for HR: how many, and the list that shows them."""

    one: str  # what it is called when there is one ("person without photos")
    many: str
    count: int
    url: str

    @property
    def what(self) -> str:
        return self.one if self.count == 1 else self.many


@dataclass(frozen=True)
class StatusLine:
    what: str
    ok: bool
    detail: str


def first_run_steps() -> list[Step]:
    """Return the administrator's getting-started steps, each ticked once it has been done."""
    Department = apps.get_model("people", "Department")
    FaceImage = apps.get_model("people", "FaceImage")
    Kiosk = apps.get_model("attendance", "Kiosk")
    User = get_user_model()
    roles = reverse("admin:attendance_site_roleholder_changelist")
    return [
        Step(
            "Add the departments",
            Department.objects.exists(),
            reverse("admin:people_department_add"),
            "Reports group people by department.",
        ),
        Step(
            "Give somebody the HR role",
            User.objects.filter(groups__name="HR").exists(),
            roles,
            "HR enrols people; the role is all they need to log in to the admin.",
        ),
        Step(
            "Enrol the first person (an accepted photo)",
            FaceImage.objects.filter(status=FaceImage.Status.ACCEPTED).exists(),
            reverse("admin:people_person_add"),
            f"Consent, then at least {settings.ENROLMENT_MIN_PHOTOS} photos or the webcam's guided shots.",
        ),
        Step(
            "Register a kiosk",
            Kiosk.objects.filter(is_active=True).exists(),
            reverse("kiosk-register"),
            "Open the link in the browser of the tablet or PC that will be the kiosk.",
        ),
        Step(
            "Give somebody the Managers role",
            User.objects.filter(groups__name="Managers").exists(),
            roles,
            "Managers read the reports on this site.",
        ),
    ]


def hr_todos() -> list[Todo]:
    """Return what is waiting for HR, only the kinds that have something waiting."""
    from people.rules import EnrolmentState
    from people.selectors import people_in_state, people_with_photo_counts

    Person = apps.get_model("people", "Person")
    FaceImage = apps.get_model("people", "FaceImage")
    people = reverse("admin:people_person_changelist")
    photos = reverse("admin:people_faceimage_changelist")
    active = people_with_photo_counts(Person.objects.filter(is_active=True))
    week_ago = timezone.now() - dt.timedelta(days=7)
    todos = [
        Todo(
            "possible duplicate to check (its photos wait out of training)",
            "possible duplicates to check (their photos wait out of training)",
            Person.objects.filter(possible_duplicate_of__isnull=False).count(),
            f"{people}?possible_duplicate_of__isnull=False",
        ),
        Todo(
            "person without photos",
            "people without photos",
            people_in_state(active, EnrolmentState.NOT_ENROLLED).count(),
            f"{people}?enrolment={EnrolmentState.NOT_ENROLLED.value}",
        ),
        Todo(
            "person who needs more photos",
            "people who need more photos",
            people_in_state(active, EnrolmentState.NEEDS_MORE_PHOTOS).count(),
            f"{people}?enrolment={EnrolmentState.NEEDS_MORE_PHOTOS.value}",
        ),
        Todo(
            "photo rejected in the last 7 days",
            "photos rejected in the last 7 days",
            FaceImage.objects.filter(status=FaceImage.Status.REJECTED, updated_at__gte=week_ago).count(),
            f"{photos}?status={FaceImage.Status.REJECTED.value}",
        ),
    ]
    return [todo for todo in todos if todo.count]


def system_status() -> list[StatusLine]:
    """Return the workers' and the recogniser's state, from the heartbeats and the training record."""
    from recognition.services import training_status, workers_alive

    since = timezone.now() - dt.timedelta(seconds=settings.WORKER_STALE_SECONDS)
    alive = workers_alive(since=since)
    ready = sorted(w["hostname"] for w in alive if w["engine_ready"])
    warming = sorted(w["hostname"] for w in alive if not w["engine_ready"])
    if not alive:
        workers = StatusLine(
            "Workers",
            False,
            f"none reported in the last {settings.WORKER_STALE_SECONDS} s: check-ins and "
            "enrolment wait until one runs (make run starts them).",
        )
    elif warming:
        workers = StatusLine("Workers", False, f"loading the face models: {', '.join(warming)}")
    else:
        workers = StatusLine("Workers", True, f"{len(ready)} running: {', '.join(ready)}")

    training = training_status()
    active = training["active"]
    if active is None:
        latest = training["latest"]
        why = f" The last run failed: {latest['error']}" if latest and latest.get("error") else ""
        recogniser = StatusLine("Recogniser", False, f"no version active yet: nobody can be recognised.{why}")
    else:
        when = (
            timezone.localtime(active["finished_at"]).strftime("%Y-%m-%d %H:%M")
            if active["finished_at"]
            else ""
        )
        accuracy = f", accuracy {active['cv_accuracy']:.0%}" if active["cv_accuracy"] is not None else ""
        recogniser = StatusLine(
            "Recogniser",
            True,
            f"version {active['id']} from {when}: {active['people_count']} people, "
            f"{active['photos_count']} photos{accuracy}"
            + ("; changes waiting to be trained" if training["pending_changes"] else ""),
        )
    return [workers, recogniser]
