"""Who may open which report: the permission matrix, department-limited managers, bad input, query counts."""

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from attendance.models import ReportAccess
from tests.attendance.reports.conftest import MONDAY
from tests.factories import KioskFactory, PersonFactory, UserFactory
from tests.support.reports import table_rows

pytestmark = pytest.mark.django_db

PAGES = ["today", "day", "timesheet", "departments"]
HTML_URLS = [f"/reports/{name}/" for name in PAGES]
EXPORT_URLS = [f"/reports/{name}.{fmt}" for name in PAGES for fmt in ("csv", "xlsx")]
API_URLS = [f"/api/v1/reports/{name}/" for name in PAGES]
ALL_URLS = HTML_URLS + EXPORT_URLS + API_URLS
ONE_DAY = {"day": "2025-03-03", "start": "2025-03-03", "end": "2025-03-03"}


def text_of(response) -> str:
    """Return what a user would read in a response: page, JSON, CSV, or every XLSX cell."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(
            str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
        )
    return response.content.decode()


def client_for(user=None, **headers) -> Client:
    client = Client(headers=headers)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def limited_manager(scenario):
    """A manager whose reports are limited to Sales."""
    user = UserFactory(username="sales-manager", groups=["Managers"])
    ReportAccess.objects.create(user=user).departments.add(scenario.sales)
    return user


@pytest.mark.parametrize("url", ALL_URLS)
def test_anonymous_and_kiosk_are_refused(scenario, url):
    """Without a user session (anonymous, or a kiosk token) pages go to login; the API answers 401/403."""
    kiosk = KioskFactory()
    for client in (client_for(), client_for(Authorization=f"Kiosk {kiosk.token}")):
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code in (401, 403)
            assert "A001" not in response.content.decode()
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", ALL_URLS)
def test_users_without_the_report_permission_get_403(scenario, url):
    """A logged-in employee with no role gets 403."""
    user = UserFactory(username="user-plain")
    response = client_for(user).get(url)
    assert response.status_code == 403
    assert "A001" not in response.content.decode()


@pytest.mark.parametrize("url", ALL_URLS)
def test_hr_reads_every_department(scenario, url):
    """HR (without the Managers role) reads the reports of both departments: it decides requests and
    locks pay periods on the site, so it sees what it decides on."""
    response = client_for(UserFactory(username="hr", groups=["HR"])).get(url, ONE_DAY)
    assert response.status_code == 200
    text = text_of(response)
    assert "A001" in text and "C003" in text


@pytest.mark.parametrize("url", ALL_URLS)
def test_full_manager_sees_every_department(scenario, manager, url):
    """A manager with no ReportAccess limit sees people of both departments."""
    response = client_for(manager).get(url, ONE_DAY)
    assert response.status_code == 200
    text = text_of(response)
    assert "A001" in text and "C003" in text


@pytest.mark.parametrize("url", ALL_URLS)
def test_limited_manager_never_sees_other_departments(limited_manager, url):
    """A Sales-only manager sees Sales people and nobody from Ops, in pages, exports and the API."""
    response = client_for(limited_manager).get(url, ONE_DAY)
    assert response.status_code == 200
    text = text_of(response)
    assert "A001" in text
    for other in ("C003", "D004", "E005", "Cy Cooper", "Dee Dyer", "Eve Evans", ">Ops<", '"Ops"'):
        assert other not in text


@pytest.mark.parametrize("url", HTML_URLS + API_URLS)
def test_limited_manager_cannot_ask_for_another_department(scenario, limited_manager, url):
    """Asking for Ops by id is an unknown department to a Sales-only manager: 400 with a message."""
    response = client_for(limited_manager).get(url, {"department": scenario.ops.pk})
    assert response.status_code == 400
    assert "Unknown department." in response.content.decode()
    assert "C003" not in response.content.decode()


def test_limited_manager_cannot_open_another_departments_timesheet(limited_manager):
    """An Ops person's timesheet is an unknown person to a Sales-only manager."""
    client = client_for(limited_manager)
    assert "Unknown person." in client.get("/reports/timesheet/", {"person": "C003"}).content.decode()
    assert client.get("/api/v1/reports/timesheet/", {"person": "C003"}).status_code == 400


def test_superuser_sees_reports(scenario):
    """A superuser sees reports without belonging to Managers."""
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert client_for(admin).get("/reports/day/", {"day": "2025-03-03"}).status_code == 200


def test_api_accepts_http_basic_for_payroll(scenario, manager):
    """A payroll script can read the API with HTTP Basic credentials of a manager."""
    import base64

    credentials = base64.b64encode(b"manager:pw-for-tests").decode()
    response = client_for(Authorization=f"Basic {credentials}").get(
        "/api/v1/reports/day/", {"day": "2025-03-03"}
    )
    assert response.status_code == 200 and response.json()["count"] == 6


BAD_INPUT = [
    ("day", {"day": "2025-13-01"}, "Enter a valid date as YYYY-MM-DD."),
    ("day", {"day": "yesterday"}, "Enter a valid date as YYYY-MM-DD."),
    ("timesheet", {"start": "2025-03-10", "end": "2025-03-01"}, "The end date is before the start date."),
    ("departments", {"start": "2025-03-10", "end": "2025-03-01"}, "The end date is before the start date."),
    # January to June 2025: 31 + 28 + 31 + 30 + 31 + 30 = 181 days, over the 93-day maximum
    (
        "timesheet",
        {"start": "2025-01-01", "end": "2025-06-30"},
        "The range covers 181 days; reports cover at most 93.",
    ),
    ("departments", {"start": "2025-01-01", "end": "2025-06-30"}, "The range covers 181 days"),
    ("day", {"department": "999999"}, "Unknown department."),
    ("today", {"department": "abc"}, "Unknown department."),
    ("day", {"sort": "salary"}, "Unknown sort column: salary."),
    ("today", {"state": "asleep"}, "Unknown state: asleep."),
    ("timesheet", {"person": "NOBODY"}, "Unknown person."),
]


@pytest.mark.parametrize(("report", "params", "message"), BAD_INPUT)
def test_bad_input_gets_a_clear_message(scenario, manager_client, report, params, message):
    """Bad filters: the page says what is wrong (400), the export too, the API answers 400 JSON."""
    page = manager_client.get(f"/reports/{report}/", params)
    assert page.status_code == 400 and message in page.content.decode()
    assert 'role="alert"' in page.content.decode()
    export = manager_client.get(f"/reports/{report}.csv", params)
    assert export.status_code == 400 and message in export.content.decode()
    api = manager_client.get(f"/api/v1/reports/{report}/", params)
    assert api.status_code == 400 and message in api.json()["detail"]


@pytest.mark.parametrize(
    "params", [{"page": "abc"}, {"page": "99"}, {"page_size": "0"}, {"page_size": "100000"}]
)
def test_api_rejects_bad_paging(scenario, manager_client, params):
    """A page or page size out of range is a 400 with a message, never a server error."""
    response = manager_client.get("/api/v1/reports/day/", {"day": "2025-03-03", **params})
    assert response.status_code == 400 and "page" in response.json()["detail"]


def test_html_pages_tolerate_a_bad_page_number(scenario, manager_client):
    """On the pages an out-of-range page number shows the last page instead of failing."""
    response = manager_client.get("/reports/day/", {"day": "2025-03-03", "page": "999"})
    assert response.status_code == 200 and len(table_rows(response.content.decode())) == 7  # header + 6


def add_people_with_a_day(count: int, *, first: int) -> None:
    """Add people who worked 09:00-17:00 on Monday 3 March 2025."""
    from tests.support.reports import workday_events

    for n in range(first, first + count):
        workday_events(PersonFactory(employee_id=f"Q{n:05d}"), MONDAY, ("09:00", "17:00"))


def test_day_report_query_count_does_not_grow_with_people(berlin, manager_client):
    """The day page and its CSV run the same fixed number of queries for 20 and for 200 people."""
    counts = []
    for added, total in ((20, 20), (180, 200)):
        add_people_with_a_day(added, first=total - added)
        with CaptureQueriesContext(connection) as page:
            response = manager_client.get("/reports/day/", {"day": "2025-03-03"})
        assert response.status_code == 200
        with CaptureQueriesContext(connection) as export:
            body = b"".join(manager_client.get("/reports/day.csv", {"day": "2025-03-03"}).streaming_content)
        assert body.count(b"\n") == total + 1  # header and a row per person
        counts.append((len(page), len(export)))
    assert counts[0] == counts[1]
    # The calendar adds fixed queries (assignments, schedules, their weekdays, leave, holidays), and
    # the top bar one (is the account linked to a person, for its "My timesheet" link).
    assert counts[1][0] <= 13, counts


@pytest.mark.parametrize("url", ["/reports/day/", "/reports/day.csv", "/api/v1/reports/day/"])
def test_a_limit_whose_department_is_gone_shows_nobody_not_everybody(scenario, limited_manager, url):
    """Deleting the only department of a manager's limit (or saving the limit empty) covers nobody."""
    scenario.sales.delete()
    response = client_for(limited_manager).get(url, ONE_DAY)
    assert response.status_code == 200
    text = text_of(response)
    for somebody in ("A001", "C003", "D004", "Cy Cooper"):
        assert somebody not in text
