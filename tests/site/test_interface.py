"""The doors other systems use, pinned: URL names and paths, Celery task names and queues, API fields,
and the columns of the CSV and XLSX exports.

Moving code between modules must not change any of these: kiosks, payroll scripts and queued tasks
rely on them. The expected values below were read off the code before attendance/ was split (issue 10).
Adding a door means adding it here; renaming or removing one means a deliberate change of the
interface (the README documents the export columns as "add, never rename").
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from openpyxl import load_workbook

from tests.factories import AttendanceEventFactory, PersonFactory, UserFactory


def words(text: str) -> list[str]:
    """Return the names in a space-separated list (shorter to read than a list of strings)."""
    return text.split()


URLS = {
    "api-docs": "api/docs/",
    "api-schema": "api/schema/",
    "checkin-challenge-answer": "api/v1/checkins/<uuid:attempt_id>/challenge/",
    "checkin-choice": "api/v1/checkins/<uuid:attempt_id>/choice/",
    "checkin-pin": "api/v1/checkins/pin/",
    "checkin-create": "api/v1/checkins/",
    "checkin-detail": "api/v1/checkins/<uuid:attempt_id>/",
    "healthz": "healthz",
    "kiosk": "kiosk/",
    "kiosk-register": "kiosk/register/",
    "people:face-image": "enrolment/photos/<int:pk>/",
    "people:face-image-thumbnail": "enrolment/photos/<int:pk>/thumbnail/",
    "people:person-progress": "enrolment/people/<int:pk>/progress/",
    "people:webcam-enrol": "enrolment/people/<int:pk>/webcam/",
    "people:webcam-shot": "enrolment/people/<int:pk>/webcam/shot/",
    "person-attendance": "attendance/people/<int:person_id>/",
    "checkin-frame": "attendance/attempts/<uuid:attempt_id>/frame/",
    "reports:api-day": "api/v1/reports/day/",
    "reports:api-departments": "api/v1/reports/departments/",
    "reports:api-timesheet": "api/v1/reports/timesheet/",
    "reports:api-today": "api/v1/reports/today/",
    "reports:day": "reports/day/",
    "reports:my-timesheet": "me/timesheet/",
    "reports:my-request-create": "me/requests/",
    "reports:requests": "reports/requests/",
    "reports:request-decide": "reports/requests/<int:pk>/decide/",
    "reports:my-wrong-time-create": "me/requests/wrong-time/",
    "reports:my-leave-create": "me/requests/leave/",
    "reports:person-events": "reports/people/<int:pk>/events/",
    "reports:pay-periods": "reports/pay-periods/",
    "reports:pay-period-action": "reports/pay-periods/<int:pk>/",
    "reports:day-csv": "reports/day.csv",
    "reports:day-xlsx": "reports/day.xlsx",
    "reports:departments": "reports/departments/",
    "reports:departments-csv": "reports/departments.csv",
    "reports:departments-xlsx": "reports/departments.xlsx",
    "reports:home": "",
    "reports:index": "reports/",
    "reports:login": "login/",
    "reports:logout": "logout/",
    "reports:timesheet": "reports/timesheet/",
    "reports:timesheet-csv": "reports/timesheet.csv",
    "reports:timesheet-xlsx": "reports/timesheet.xlsx",
    "reports:today": "reports/today/",
    "reports:today-csv": "reports/today.csv",
    "reports:today-xlsx": "reports/today.xlsx",
}

# Task name -> queue. Queued messages name their task: a renamed task strands every message in flight.
TASKS = {
    "attendance.checkin_attempt_process": "recognition",
    "attendance.checkin_attempts_expire": "default",
    "attendance.checkin_liveness_process": "recognition",
    "attendance.manager_digests_send": "default",
    "attendance.request_decision_mail": "default",
    "attendance.request_decision_mails_send": "default",
    "attendance_site.ping": "default",
    "people.face_image_process": "enrolment",
    "people.zip_import_check": "enrolment",
    "people.retention_apply": "default",
    "recognition.reembed": "enrolment",
    "recognition.train": "training",
}

API_PATHS = [
    "/api/v1/checkins/",
    "/api/v1/checkins/pin/",
    "/api/v1/checkins/{attempt_id}/",
    "/api/v1/checkins/{attempt_id}/challenge/",
    "/api/v1/checkins/{attempt_id}/choice/",
    "/api/v1/reports/day/",
    "/api/v1/reports/departments/",
    "/api/v1/reports/timesheet/",
    "/api/v1/reports/today/",
]

# OpenAPI component -> its fields, in order.
API_FIELDS = {
    "CheckinAttemptOutput": words(
        "id state outcome message first_name event_kind event_time created_at finished_at status_url "
        "challenge employee_id choice event_local_time"
    ),
    "KioskChoice": words("kinds likely confirm_after_ms expires_at confirm_url"),
    "LivenessChallenge": words("steps instructions expires_at answer_url max_frames nonce"),
    "Error": words("detail"),
    "ReportError": words("detail errors"),
    "DayReport": words("day count page num_pages page_size results"),
    "DayRow": words(
        "workday employee_id full_name department shift_start first_entry last_exit hours_worked late "
        "late_minutes missing_exit status expected_hours overtime_hours early_leave_minutes pin_punches"
    ),
    "DepartmentSummary": words("start end departments count page num_pages page_size results"),
    "SummaryDepartment": words(
        "working_days days_present attendance_rate total_hours average_hours late_count expected_hours "
        "overtime_hours absent_days leave_days department people"
    ),
    "SummaryPerson": words(
        "working_days days_present attendance_rate total_hours average_hours late_count expected_hours "
        "overtime_hours absent_days leave_days employee_id full_name department"
    ),
    "Timesheet": words("start end totals count page num_pages page_size results"),
    "TimesheetRow": words(
        "workday employee_id full_name department hours_worked late late_minutes missing_exit status "
        "expected_hours overtime_hours early_leave_minutes pin_punches entries exits"
    ),
    "TodayReport": words(
        "workday generated_at counts arrivals_by_hour count page num_pages page_size results"
    ),
    "TodayRow": words(
        "workday employee_id full_name department shift_start state first_entry last_event late late_minutes"
    ),
    "Totals": words(
        "working_days days_present attendance_rate total_hours average_hours late_count expected_hours "
        "overtime_hours absent_days leave_days"
    ),
}

DAY_COLUMNS = words(
    "workday employee_id full_name department shift_start first_entry last_exit hours_worked late "
    "late_minutes missing_exit status expected_hours overtime_hours early_leave_minutes pin_punches"
)
TIMESHEET_COLUMNS = words(
    "workday employee_id full_name department entries exits hours_worked late late_minutes "
    "missing_exit status expected_hours overtime_hours early_leave_minutes pin_punches"
)
TODAY_COLUMNS = words(
    "workday employee_id full_name department shift_start state first_entry last_event late late_minutes"
)
PERSON_TOTALS_COLUMNS = words(
    "employee_id full_name department working_days days_present attendance_rate total_hours "
    "average_hours late_count expected_hours overtime_hours absent_days leave_days"
)
DEPARTMENT_TOTALS_COLUMNS = words(
    "department people working_days days_present attendance_rate total_hours average_hours late_count "
    "expected_hours overtime_hours absent_days leave_days"
)

# URL name (and query) -> the CSV header, or the XLSX sheets with their headers.
CSV_EXPORTS = {
    ("reports:today-csv", ""): TODAY_COLUMNS,
    ("reports:day-csv", ""): DAY_COLUMNS,
    ("reports:timesheet-csv", ""): TIMESHEET_COLUMNS,
    ("reports:departments-csv", ""): PERSON_TOTALS_COLUMNS,
    ("reports:departments-csv", "level=department"): DEPARTMENT_TOTALS_COLUMNS,
}
XLSX_EXPORTS = {
    "reports:today-xlsx": {"Today": TODAY_COLUMNS},
    "reports:day-xlsx": {"Day": DAY_COLUMNS},
    "reports:timesheet-xlsx": {"Timesheet": TIMESHEET_COLUMNS},
    "reports:departments-xlsx": {"Departments": DEPARTMENT_TOTALS_COLUMNS, "People": PERSON_TOTALS_COLUMNS},
}
# Report API -> the keys of its answer and of one row, as a payroll script reads them.
API_ANSWERS = {
    "reports:api-today": ("TodayReport", "TodayRow"),
    "reports:api-day": ("DayReport", "DayRow"),
    "reports:api-timesheet": ("Timesheet", "TimesheetRow"),
    "reports:api-departments": ("DepartmentSummary", "SummaryPerson"),
}


def _named_urls(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if inner != "admin":  # Django's own admin URLs are Django's interface, not ours
                yield from _named_urls(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


def test_url_names_and_paths_are_unchanged():
    """Every named URL outside the admin keeps its name and its path."""
    assert dict(_named_urls(get_resolver().url_patterns)) == URLS


def test_celery_task_names_and_queues_are_unchanged():
    """Every task the project registers keeps its name and its queue."""
    from attendance_site.celery import app

    app.loader.import_default_modules()
    ours = {name: task.queue for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert ours == TASKS


def test_api_paths_and_fields_are_unchanged():
    """The OpenAPI schema lists the same API paths and the same fields, in the same order."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert sorted(schema["paths"]) == API_PATHS
    components = schema["components"]["schemas"]
    fields = {name: list(components[name].get("properties", {})) for name in API_FIELDS if name in components}
    assert fields == API_FIELDS


@pytest.fixture
def reporter(db) -> Client:
    """A superuser's client, and one person with an entry today, so that every report has a row."""
    PersonFactory(full_name="Ada Archer", employee_id="A001")
    AttendanceEventFactory(person__full_name="Ben Baker", person__employee_id="B002")
    client = Client()
    client.force_login(UserFactory(username="interface", is_superuser=True, is_staff=True))
    return client


@pytest.mark.parametrize(("name", "query"), list(CSV_EXPORTS))
def test_csv_export_columns_are_unchanged(reporter, name, query):
    """Each CSV download starts with the same header row."""
    from django.urls import reverse

    response = reporter.get(f"{reverse(name)}?{query}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == CSV_EXPORTS[(name, query)]
    assert len(rows) > 1


@pytest.mark.parametrize("name", list(XLSX_EXPORTS))
def test_xlsx_export_sheets_and_columns_are_unchanged(reporter, name):
    """Each XLSX download has the same sheets, each starting with the same header row."""
    from django.urls import reverse

    response = reporter.get(reverse(name))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    headers = {sheet.title: list(next(sheet.iter_rows(values_only=True))) for sheet in book.worksheets}
    assert headers == XLSX_EXPORTS[name]


@pytest.mark.parametrize("name", list(API_ANSWERS))
def test_report_api_answers_carry_the_documented_fields(reporter, name):
    """What the report API answers has exactly the schema's fields, at the top and in each row."""
    from django.urls import reverse

    response = reporter.get(reverse(name))
    assert response.status_code == 200
    body = response.json()
    answer, row = API_ANSWERS[name]
    assert list(body) == API_FIELDS[answer]
    assert body["results"], "the fixture gives every report a row"
    assert list(body["results"][0]) == API_FIELDS[row]
