"""Every URL of the site, discovered from the URL configuration, tried as every kind of visitor.

Each URL must be classified in RULES: a new URL without a rule fails the test, so nobody adds a
page without deciding who may open it. Allowed visitors must get through (any answer but a
refusal); everybody else must be refused: 401/403, 404, or a redirect to a login page.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import uuid

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from attendance.models import AttendanceEvent, CheckinAttempt, ReportAccess
from attendance_site.models import AuditEntry
from people.models import FaceImage, ZipImport
from recognition.models import RecogniserVersion
from tests.factories import AttendanceEventFactory, KioskFactory, PersonFactory, UserFactory
from tests.support.images import plain_jpeg

ANONYMOUS, KIOSK, EMPLOYEE, HR, MANAGER = "anonymous", "kiosk", "employee", "hr", "manager"
ROLES = (ANONYMOUS, KIOSK, EMPLOYEE, HR, MANAGER)
EVERYONE = set(ROLES)
STAFF_APPS = ("people", "attendance", "recognition")

# (pattern on "name" or on "route" when the URL has no name, roles allowed). First match wins.
RULES: list[tuple[str, set[str]]] = [
    ("healthz", EVERYONE),
    ("kiosk", EVERYONE),  # the page holds no data: it needs a kiosk token for the API
    ("reports:home", EVERYONE),
    ("reports:login", EVERYONE),
    ("reports:logout", EVERYONE),
    ("reports:index", EVERYONE),  # a redirect to the Today report, which has its own rule
    ("api-schema", {EMPLOYEE, HR, MANAGER}),
    ("api-docs", {EMPLOYEE, HR, MANAGER}),
    ("checkin-create", {KIOSK}),
    ("checkin-detail", {KIOSK}),
    ("checkin-challenge*", {KIOSK}),
    ("checkin-choice", {KIOSK}),
    ("checkin-pin", {KIOSK}),
    ("kiosk-register", {HR}),
    ("person-attendance", {HR}),
    ("checkin-frame", {HR}),  # a kept check-in frame (a PIN punch's evidence): biometric data
    ("people:*", {HR}),  # face photos, thumbnails, webcam enrolment, progress: biometric data
    ("reports:my-timesheet", {EMPLOYEE, HR, MANAGER}),  # one's own timesheet only (or a "not linked" note)
    ("reports:my-request-create", set()),  # POST only, for an account linked to a person
    ("reports:my-wrong-time-create", set()),
    ("reports:my-leave-create", set()),
    # The manager here may report on no department (an empty ReportAccess): nobody to correct.
    ("reports:person-events", {HR}),
    ("reports:pay-period-action", {HR}),  # approve and lock, reopen: HR (Managers only read the list)
    ("reports:*", {MANAGER, HR}),  # HR reads the reports and decides requests on the site too
    ("admin:login", EVERYONE),
    ("admin:logout", EVERYONE),
    ("admin:jsi18n", {HR}),
    ("admin:index", {HR}),
    ("admin:password_change*", {HR}),
    ("admin:autocomplete", set()),  # answers only a model's query, under that model admin's permissions
    ("admin:view_on_site", set()),  # no model has a public page to send staff to
    ("admin:app_list[auth]", set()),  # users and groups: superusers only
    ("admin:app_list[attendance_site]", set()),  # the audit log: superusers only
    ("admin:app_list[axes]", set()),  # login lockouts, and unlocking them: superusers only
    ("admin:axes_*", set()),
    ("admin:attendance_site_*", set()),
    ("admin:app_list*", {HR}),
    ("admin:auth_*", set()),
    ("admin:attendance_reportaccess_*", set()),  # who sees which department: superusers only
    # Records HR reads but never creates or removes by hand.
    ("admin:people_department_delete", set()),  # people refer to it
    ("admin:people_faceimage_add", set()),  # photos are added on the person's page
    ("admin:people_consenttext_delete", set()),  # what people agreed to is kept
    ("admin:people_zipimport_add", set()),  # made by the zip import page
    ("admin:people_zipimport_delete", set()),  # the record of what an import saved or refused is kept
    # The matrix opens the first calendar, the default one everybody without a calendar follows; HR
    # deletes other calendars (tests/people/test_holiday_calendars.py).
    ("admin:people_holidaycalendar_delete", set()),
    ("admin:recognition_recogniserversion_add", set()),  # versions come from training runs
    ("admin:recognition_recogniserversion_delete", set()),
    ("admin:attendance_kiosk_delete", set()),  # kiosks are revoked, keeping their history
    ("admin:attendance_checkinattempt_add", set()),
    ("admin:attendance_checkinattempt_delete", set()),
    ("admin:attendance_attendanceeventlog_add", set()),
    ("admin:attendance_attendanceeventlog_delete", set()),
    *((f"admin:{app}_*", {HR}) for app in STAFF_APPS),
    # Unnamed admin redirects from /<id>/ to /<id>/change/, which has its own rule.
    ("admin/*/<path:object_id>/", {HR}),
    ("admin/(?P<url>.*)$", set()),  # unknown admin pages: 404 for staff, a login redirect for others
]


def walk(patterns, prefix: str = "", namespace: str = ""):
    """Yield (route, name) for every URL pattern, following includes."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), (namespace + pattern.name) if pattern.name else ""


def rule_for(key: str) -> set[str] | None:
    for pattern, roles in RULES:
        if fnmatch.fnmatchcase(key, pattern) or key == pattern:
            return roles
    return None


@pytest.fixture
def world(db):
    """One of everything a URL can point at, and a user (or kiosk) for each role."""
    person = PersonFactory()
    face = FaceImage(person=person, status=FaceImage.Status.ACCEPTED)
    face.image.save("face.jpg", ContentFile(plain_jpeg((32, 32))), save=True)
    kiosk = KioskFactory()
    attempt = CheckinAttempt.objects.create(kiosk=kiosk)
    attempt.frame.save("kept.jpg", ContentFile(b"\xff\xd8 a kept frame"), save=True)
    event = AttendanceEventFactory(person=person, timestamp=timezone.now() - dt.timedelta(hours=1))
    RecogniserVersion.objects.create(trigger="test")
    ZipImport.objects.create(file_name="people.zip")
    AuditEntry.objects.create(action=AuditEntry.Action.VIEW, what="face photo")
    AccessAttempt.objects.create(username="someone", failures_since_start=1)
    AccessFailureLog.objects.create(username="someone")
    AccessLog.objects.create(username="someone")
    manager = UserFactory(username="manager", groups=["Managers"])
    ReportAccess.objects.create(user=manager)
    users = {
        EMPLOYEE: UserFactory(username="employee"),
        HR: UserFactory(username="hr", is_staff=True, groups=["HR"]),
        MANAGER: manager,
    }
    return {
        "person": person,
        "face": face,
        "kiosk": kiosk,
        "attempt": attempt,
        "event": event,
        "users": users,
    }


def concrete_urls(world) -> list[tuple[str, str]]:
    """Return (key, path) for every URL, with converters filled by objects from the world."""
    values = {
        "people:face-image": {"pk": world["face"].pk},
        "people:face-image-thumbnail": {"pk": world["face"].pk},
    }
    urls = []
    for route, name in walk(get_resolver().url_patterns):
        key = name or route
        if name == "admin:app_list":
            for app in ("auth", "attendance_site", *STAFF_APPS):
                urls.append((f"admin:app_list[{app}]", f"/admin/{app}/"))
            continue
        path = _fill(route, name, values.get(name, {}), world)
        urls.append((key, path))
    return urls


def _fill(route: str, name: str, given: dict, world) -> str:
    model_pk = _admin_object_pk(route)

    def replace(match: re.Match) -> str:
        converter, field = match.group(1), match.group(2)
        if field in given:
            return str(given[field])
        if field in {"pk", "person_id"}:
            return str(world["person"].pk)
        if field == "attempt_id":
            return str(world["attempt"].pk)
        if field in {"object_id", "id"}:
            return str(model_pk or 1)
        if field == "content_type_id":
            from django.contrib.contenttypes.models import ContentType

            return str(ContentType.objects.get_for_model(AttendanceEvent).pk)
        if converter == "uuid":
            return str(uuid.uuid4())
        raise AssertionError(f"no sample value for <{converter}:{field}> in {name or route}: add one")

    route = route.replace("^", "").replace("$", "").replace("(?P<url>.*)", "no-such-page/")
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


def _admin_object_pk(route: str):
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    from django.apps import apps

    try:
        model = apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return None
    obj = model.objects.order_by("pk").first()
    return obj.pk if obj else None


def client_for(role: str, world) -> Client:
    if role == KIOSK:
        return Client(HTTP_AUTHORIZATION=f"Kiosk {world['kiosk'].token}")
    client = Client()
    if role in world["users"]:
        client.force_login(world["users"][role])
    return client


def refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (301, 302) and "login" in location


@pytest.mark.django_db
def test_every_url_has_an_authorization_rule(world):
    """A URL without a rule in RULES fails: every new page must say who may open it."""
    missing = [key for key, _ in concrete_urls(world) if rule_for(key) is None]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_urls_it_is_allowed(world, role):
    """GET (and, outside the admin, POST) of every URL as one role matches the table."""
    wrong = []
    for key, path in concrete_urls(world):
        allowed = role in (rule_for(key) or set())
        client = client_for(role, world)
        get = client.get(path)
        # POST-only URLs answer GET with 405 before any check: ask them the way they are used.
        post = client.post(path) if get.status_code == 405 and not path.startswith("/admin/") else None
        answers = [get] if post is None else [get, post]
        if allowed:
            passed = any(not refused(r) for r in answers)
        else:
            passed = refused(get) or (get.status_code == 405 and (post is None or refused(post)))
        if not passed:
            verdict = "should be allowed" if allowed else "should be refused"
            wrong.append(f"{key} {path}: {[r.status_code for r in answers]}, {verdict}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.django_db
def test_forms_reject_posts_without_a_csrf_token(world):
    """Every session-authenticated URL refuses a POST without a CSRF token (403)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests"))
    accepted = []
    for key, path in concrete_urls(world):
        if key in {"checkin-create", "checkin-detail", "checkin-choice", "checkin-pin"} or key.startswith(
            "checkin-challenge"
        ):
            continue  # token-authenticated API for kiosks: no cookies, so no CSRF exposure
        response = client.post(path, {"anything": "1"})
        if response.status_code not in (403, 404, 405):
            accepted.append(f"{key} {path}: {response.status_code}")
    assert accepted == []
