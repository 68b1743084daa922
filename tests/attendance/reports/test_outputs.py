"""Every report in HTML, CSV, XLSX and JSON against figures worked out by hand (see conftest.scenario)."""

import datetime as dt

import pytest

from tests.attendance.reports.conftest import MONDAY
from tests.site.test_interface import DAY_COLUMNS
from tests.support.reports import csv_rows, table_rows, workday_events, xlsx_rows

pytestmark = pytest.mark.django_db

DAY = "2025-03-03"

# Hand-computed day report, in CSV text. Berlin is UTC+1 on 3 March.
EXPECTED_DAY = {
    "A001": {
        "first_entry": "2025-03-03T09:06:00+01:00",
        "last_exit": "2025-03-03T17:30:00+01:00",
        "hours_worked": "8.40",  # 8 h 24 min
        "late": "true",
        "late_minutes": "6",
        "missing_exit": "false",
        "status": "present",
    },
    "B002": {
        "first_entry": "2025-03-03T09:05:00+01:00",
        "last_exit": "2025-03-03T17:00:00+01:00",
        "hours_worked": "7.92",  # 7 h 55 min = 7.9166 h
        "late": "false",
        "late_minutes": "0",
        "missing_exit": "false",
        "status": "present",
    },
    "C003": {
        "first_entry": "2025-03-03T09:01:00+01:00",
        "last_exit": "",
        "hours_worked": "0.00",
        "late": "false",
        "late_minutes": "0",
        "missing_exit": "true",
        "status": "incomplete",
    },
    "D004": {
        "first_entry": "2025-03-03T08:00:00+01:00",
        "last_exit": "2025-03-03T17:45:00+01:00",
        "hours_worked": "9.00",  # 4 h + 2 h 30 + 2 h 30
        "late": "false",
        "late_minutes": "0",
        "missing_exit": "false",
        "status": "present",
    },
    "E005": {
        "first_entry": "2025-03-03T18:10:00+01:00",
        "last_exit": "2025-03-04T02:10:00+01:00",
        "hours_worked": "8.00",
        "late": "true",
        "late_minutes": "10",
        "missing_exit": "false",
        "status": "present",
    },
    "F006": {
        "first_entry": "",
        "last_exit": "",
        "hours_worked": "0.00",
        "late": "false",
        "late_minutes": "0",
        "missing_exit": "false",
        "status": "absent",
    },
}


def test_day_report_csv_matches_hand_figures(scenario, manager_client):
    """The day CSV has the documented columns and each person's hand-computed figures."""
    response = manager_client.get("/reports/day.csv", {"day": DAY})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert list(rows[0]) == DAY_COLUMNS
    by_id = {row["employee_id"]: row for row in rows}
    assert set(by_id) == set(EXPECTED_DAY)
    for employee_id, expected in EXPECTED_DAY.items():
        assert {k: by_id[employee_id][k] for k in expected} == expected, employee_id
    assert by_id["E005"]["shift_start"] == "18:00"
    assert by_id["A001"]["department"] == "Sales" and by_id["A001"]["workday"] == DAY


def test_day_report_xlsx_matches_hand_figures(scenario, manager_client):
    """The day XLSX holds local times, hours as numbers and the same statuses."""
    response = manager_client.get("/reports/day.xlsx", {"day": DAY})
    assert response.status_code == 200
    by_id = {row["employee_id"]: row for row in xlsx_rows(response)}
    assert by_id["A001"]["first_entry"] == dt.datetime(2025, 3, 3, 9, 6)
    assert by_id["A001"]["hours_worked"] == pytest.approx(8.40)
    assert by_id["A001"]["late_minutes"] == 6
    assert by_id["E005"]["last_exit"] == dt.datetime(2025, 3, 4, 2, 10)
    assert by_id["E005"]["hours_worked"] == pytest.approx(8.00)
    assert by_id["C003"]["last_exit"] is None and by_id["C003"]["missing_exit"] is True
    assert by_id["D004"]["hours_worked"] == pytest.approx(9.00)
    assert {i: r["status"] for i, r in by_id.items()} == {i: e["status"] for i, e in EXPECTED_DAY.items()}


def test_day_report_json_matches_hand_figures(scenario, manager_client):
    """The day API returns the same records, with hours as numbers and ISO times with the offset."""
    response = manager_client.get("/api/v1/reports/day/", {"day": DAY})
    assert response.status_code == 200
    body = response.json()
    assert body["day"] == DAY and body["count"] == 6
    by_id = {row["employee_id"]: row for row in body["results"]}
    for employee_id, expected in EXPECTED_DAY.items():
        row = by_id[employee_id]
        assert row["first_entry"] == (expected["first_entry"] or None)
        assert row["last_exit"] == (expected["last_exit"] or None)
        assert row["hours_worked"] == float(expected["hours_worked"])
        assert row["late"] == (expected["late"] == "true")
        assert row["late_minutes"] == int(expected["late_minutes"])
        assert row["missing_exit"] == (expected["missing_exit"] == "true")
        assert row["status"] == expected["status"]


def test_day_report_page_shows_hand_figures(scenario, manager_client):
    """The day page's table shows local times, hours as h:mm, lateness, status, expected and overtime.

    Everyone's default schedule expects 8:00 (09:00-17:00, Eve 18:00-02:00, no break): Ada's 8:24 is
    0:24 over, Dee's 9:00 is 1:00 over."""
    response = manager_client.get("/reports/day/", {"day": DAY})
    assert response.status_code == 200
    rows = {row[1]: row for row in table_rows(response.content.decode())[1:]}
    assert rows["A001"][4:] == ["09:06", "17:30", "8:24", "6 min", "Present", "8:00", "0:24"]
    assert rows["B002"][4:] == ["09:05", "17:00", "7:55", "—", "Present", "8:00", "0:00"]
    assert rows["C003"][4:] == [
        "09:01",
        "missing exit",
        "0:00",
        "—",
        "Incomplete: missing exit",
        "8:00",
        "0:00",
    ]
    assert rows["D004"][4:] == ["08:00", "17:45", "9:00", "—", "Present", "8:00", "1:00"]
    assert rows["E005"][3:] == ["18:00", "18:10", "02:10", "8:00", "10 min", "Present", "8:00", "0:00"]
    assert rows["F006"][4:] == ["—", "—", "0:00", "—", "Absent", "8:00", "0:00"]


def test_day_report_filters_sorts_and_pages(scenario, manager_client, settings):
    """Department and search filter the rows; sort=-hours orders by hours; pages hold PAGE_SIZE rows."""
    ops = manager_client.get("/reports/day/", {"day": DAY, "department": scenario.ops.pk})
    assert sorted(r[1] for r in table_rows(ops.content.decode())[1:]) == ["C003", "D004", "E005"]
    search = manager_client.get("/reports/day/", {"day": DAY, "q": "bak"})
    assert [r[1] for r in table_rows(search.content.decode())[1:]] == ["B002"]
    by_hours = manager_client.get("/reports/day.csv", {"day": DAY, "sort": "-hours"})
    # 9.00, 8.40, 8.00, 7.92, then the two 0.00 rows in name order (Cy Cooper, Fay Fisher)
    assert [r["employee_id"] for r in csv_rows(by_hours)] == ["D004", "A001", "E005", "B002", "C003", "F006"]
    settings.REPORT_PAGE_SIZE = 4
    page2 = manager_client.get("/reports/day/", {"day": DAY, "page": 2})
    assert [r[0] for r in table_rows(page2.content.decode())[1:]] == ["Eve Evans", "Fay Fisher"]
    assert "Page 2 of 2" in page2.content.decode()


def test_timesheet_totals_for_one_person(scenario, manager_client):
    """Ada Mon 8 h 24 (late) + Tue 3 h 02 + 4 h 00: 15.43 h, 2 of 5 working days, average 7.72 h;
    5 x 8 h = 40 h expected, 0 h 24 over on Monday (0.40 h), absent Wednesday to Friday."""
    workday_events(
        scenario.people["ada"], MONDAY + dt.timedelta(days=1), ("08:58", "12:00"), ("13:00", "17:00")
    )
    params = {"person": "A001", "start": "2025-03-03", "end": "2025-03-07"}
    body = manager_client.get("/api/v1/reports/timesheet/", params).json()
    assert body["count"] == 5  # a row per day, days without events included
    assert body["totals"] == {
        "working_days": 5,
        "days_present": 2,
        "attendance_rate": 0.4,
        "total_hours": 15.43,  # 15 h 26 min = 15.4333 h
        "average_hours": 7.72,  # 7 h 43 min = 7.7166 h
        "late_count": 1,
        "expected_hours": 40.0,
        "overtime_hours": 0.4,
        "absent_days": 3,
        "leave_days": 0.0,
    }
    tuesday = body["results"][1]
    assert tuesday["entries"] == ["2025-03-04T08:58:00+01:00", "2025-03-04T13:00:00+01:00"]
    assert tuesday["hours_worked"] == 7.03  # 7 h 02 min

    rows = csv_rows(manager_client.get("/reports/timesheet.csv", params))
    assert [(r["workday"], r["entries"], r["exits"], r["hours_worked"]) for r in rows[:3]] == [
        ("2025-03-03", "09:06", "17:30", "8.40"),
        ("2025-03-04", "08:58 13:00", "12:00 17:00", "7.03"),
        ("2025-03-05", "", "", "0.00"),
    ]
    xlsx = xlsx_rows(manager_client.get("/reports/timesheet.xlsx", params))
    assert [r["hours_worked"] for r in xlsx] == pytest.approx([8.40, 7.03, 0, 0, 0])

    page = manager_client.get("/reports/timesheet/", params).content.decode()
    assert 'id="total-hours">15:26<' in page and 'id="days-present">2<' in page
    assert 'id="expected-hours">40:00<' in page and 'id="overtime-hours">0:24<' in page
    assert "Ada Archer (A001)" in page


def test_the_timesheet_chart_has_its_figures_as_a_table(scenario, manager_client):
    """Issue 16: the hours-per-day chart is a canvas; the same figures are in a table beside it."""
    workday_events(
        scenario.people["ada"], MONDAY + dt.timedelta(days=1), ("08:58", "12:00"), ("13:00", "17:00")
    )
    params = {"person": "A001", "start": "2025-03-03", "end": "2025-03-07"}
    page = manager_client.get("/reports/timesheet/", params).content.decode()
    assert "Hours per day as a table" in page
    assert table_rows(page, "chart-figures") == [
        ["Day", "Hours worked"],
        ["Mon 3 Mar 2025", "8:24"],
        ["Tue 4 Mar 2025", "7:02"],
        ["Wed 5 Mar 2025", "0:00"],
        ["Thu 6 Mar 2025", "0:00"],
        ["Fri 7 Mar 2025", "0:00"],
    ]


def test_department_summary_per_department_and_person(scenario, manager_client):
    """Monday only: Sales 2 of 3 present, 16 h 19 = 16.32 h; Ops 3 of 3 (one incomplete), 17.00 h."""
    params = {"start": DAY, "end": DAY}
    body = manager_client.get("/api/v1/reports/departments/", params).json()
    assert body["departments"] == [
        {
            "department": "Ops",
            "people": 3,
            "working_days": 3,
            "days_present": 3,
            "attendance_rate": 1.0,
            "total_hours": 17.0,
            "average_hours": 5.67,  # 17 h / 3
            "late_count": 1,
            "expected_hours": 24.0,
            "overtime_hours": 1.0,  # Dee's 9 h against 8
            "absent_days": 0,
            "leave_days": 0.0,
        },
        {
            "department": "Sales",
            "people": 3,
            "working_days": 3,
            "days_present": 2,
            "attendance_rate": 0.6667,
            "total_hours": 16.32,
            "average_hours": 8.16,  # 16 h 19 / 2 = 8 h 09.5
            "late_count": 1,
            "expected_hours": 24.0,
            "overtime_hours": 0.4,  # Ada's 8 h 24 against 8
            "absent_days": 1,
            "leave_days": 0.0,
        },
    ]
    people = {r["employee_id"]: r for r in body["results"]}
    assert people["F006"]["days_present"] == 0 and people["F006"]["average_hours"] is None
    assert people["A001"]["attendance_rate"] == 1.0 and people["A001"]["late_count"] == 1

    dept_csv = csv_rows(manager_client.get("/reports/departments.csv", {**params, "level": "department"}))
    assert [(r["department"], r["attendance_rate"], r["total_hours"]) for r in dept_csv] == [
        ("Ops", "1.0000", "17.00"),
        ("Sales", "0.6667", "16.32"),
    ]
    person_csv = {
        r["employee_id"]: r for r in csv_rows(manager_client.get("/reports/departments.csv", params))
    }
    assert person_csv["B002"]["total_hours"] == "7.92" and person_csv["F006"]["attendance_rate"] == "0.0000"
    xlsx = manager_client.get("/reports/departments.xlsx", params)
    assert [r["department"] for r in xlsx_rows(xlsx, "Departments")] == ["Ops", "Sales"]
    assert len(xlsx_rows(xlsx, "People")) == 6

    page = manager_client.get("/reports/departments/", params).content.decode()
    summary = {row[0]: row for row in table_rows(page, "department-summary")[1:]}
    assert summary["Sales"] == ["Sales", "3", "67%", "8:09", "1"]
    assert summary["Ops"] == ["Ops", "3", "100%", "5:40", "1"]


def test_daylight_saving_night_in_every_output(berlin, manager_client):
    """A 20:00-03:30 night over the spring change (29-30 March 2025, Berlin) is 6.50 h everywhere.

    At 02:00 the clocks went to 03:00: 7 h 30 on the clock, 6 h 30 worked (19:00 to 01:30 UTC).
    """
    from tests.factories import PersonFactory

    person = PersonFactory(
        employee_id="N001", full_name="Nia Night", shift_start=dt.time(20), shift_end=dt.time(3)
    )
    workday_events(person, dt.date(2025, 3, 29), ("20:00", "03:30"))
    params = {"day": "2025-03-29"}
    row = csv_rows(manager_client.get("/reports/day.csv", params))[0]
    assert (row["first_entry"], row["last_exit"]) == (
        "2025-03-29T20:00:00+01:00",
        "2025-03-30T03:30:00+02:00",
    )
    assert row["hours_worked"] == "6.50" and row["status"] == "present"
    assert xlsx_rows(manager_client.get("/reports/day.xlsx", params))[0]["hours_worked"] == pytest.approx(6.5)
    assert manager_client.get("/api/v1/reports/day/", params).json()["results"][0]["hours_worked"] == 6.5
    html = table_rows(manager_client.get("/reports/day/", params).content.decode())[1]
    assert html[4:7] == ["20:00", "03:30", "6:30"]


def test_today_page_counts_states(berlin, manager_client, db):
    """Today: one person in, one checked out, one not yet in, in the counts and the JSON."""
    from django.utils import timezone

    from attendance.clock import Clock
    from tests.factories import AttendanceEventFactory, PersonFactory

    clock = Clock.from_settings()
    now = timezone.now()
    start = dt.datetime.combine(clock.workday(now), clock.boundary, tzinfo=clock.tz)
    step = (now - start) / 4  # three moments between the workday's start and now
    inside, left, away = (
        PersonFactory(employee_id="T1"),
        PersonFactory(employee_id="T2"),
        PersonFactory(employee_id="T3"),
    )
    AttendanceEventFactory(person=inside, kind="in", timestamp=start + step)
    AttendanceEventFactory(person=left, kind="in", timestamp=start + step)
    AttendanceEventFactory(person=left, kind="out", timestamp=start + 2 * step)
    body = manager_client.get("/api/v1/reports/today/").json()
    assert {r["employee_id"]: r["state"] for r in body["results"]} == {
        "T1": "in",
        "T2": "out",
        "T3": "not_in",
    }
    assert (body["counts"]["in"], body["counts"]["out"], body["counts"]["not_in"]) == (1, 1, 1)
    assert sum(bar["arrivals"] for bar in body["arrivals_by_hour"]) == 2
    page = manager_client.get("/reports/today/", {"state": "in"})
    assert [r[1] for r in table_rows(page.content.decode())[1:]] == ["T1"]
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html  # never a timed reload (focus, scroll, screen readers)
    assert 'data-refresh-seconds="60"' in html and "reports/refresh.js" in html
    assert [
        r["employee_id"] for r in csv_rows(manager_client.get("/reports/today.csv", {"state": "not_in"}))
    ] == ["T3"]
    assert away.employee_id == "T3"


def test_day_report_links_names_to_timesheets_and_days_to_each_other(scenario, manager_client):
    """On Monday 3 March: Ada's name opens her timesheet for 1-3 March; the day before and after keep
    the department filter."""
    page = manager_client.get("/reports/day/", {"day": DAY, "department": scenario.sales.pk}).content.decode()
    assert (
        'href="/reports/timesheet/?person=A001&amp;start=2025-03-01&amp;end=2025-03-03">Ada Archer</a>'
        in page
    )
    assert f'id="previous-day" href="?day=2025-03-02&amp;department={scenario.sales.pk}"' in page
    assert f'id="next-day" href="?day=2025-03-04&amp;department={scenario.sales.pk}"' in page
    sunday = manager_client.get("/reports/day/", {"day": "2025-03-02", "department": scenario.sales.pk})
    statuses = {row[1]: row[8] for row in table_rows(sunday.content.decode())[1:]}
    assert statuses == {"A001": "Day off", "B002": "Day off", "F006": "Day off"}


def test_an_early_exit_shows_on_the_day_page(berlin, manager_client):
    """Out at 16:35 on a 09:00-17:00 shift: the status says it, 25 minutes early."""
    from tests.factories import PersonFactory

    person = PersonFactory(employee_id="G007", full_name="Gil Green")
    workday_events(person, MONDAY, ("09:00", "16:35"))
    row = table_rows(manager_client.get("/reports/day/", {"day": DAY}).content.decode())[1]
    assert row[8] == "Present left 25 min early"
    assert csv_rows(manager_client.get("/reports/day.csv", {"day": DAY}))[0]["early_leave_minutes"] == "25"


def test_pin_punches_are_marked_and_filtered_in_day_and_timesheet(scenario, manager_client):
    """Ben's 17:00 exit was punched with a PIN: his day row counts 1 PIN punch in every output, says
    "PIN" on the page, and `punch=pin` lists his day alone (day report, timesheet, API, CSV)."""
    from attendance.models import AttendanceEvent

    ben_exit = AttendanceEvent.objects.get(person=scenario.people["ben"], kind=AttendanceEvent.Kind.OUT)
    ben_exit.source = AttendanceEvent.Source.PIN
    ben_exit.save(update_fields=["source"])

    everyone = {
        r["employee_id"]: r["pin_punches"]
        for r in csv_rows(manager_client.get("/reports/day.csv", {"day": DAY}))
    }
    assert everyone == {"A001": "0", "B002": "1", "C003": "0", "D004": "0", "E005": "0", "F006": "0"}
    page = manager_client.get("/reports/day/", {"day": DAY})
    statuses = {row[1]: row[8] for row in table_rows(page.content.decode())[1:]}
    assert statuses["B002"] == "Present PIN" and statuses["A001"] == "Present"

    only_pin = manager_client.get("/reports/day/", {"day": DAY, "punch": "pin"})
    assert [row[1] for row in table_rows(only_pin.content.decode())[1:]] == ["B002"]
    assert 'id="next-day" href="?day=2025-03-04&amp;punch=pin"' in only_pin.content.decode()
    api = manager_client.get("/api/v1/reports/day/", {"day": DAY, "punch": "pin"}).json()
    assert [(r["employee_id"], r["pin_punches"]) for r in api["results"]] == [("B002", 1)]
    sheet = manager_client.get(
        "/reports/timesheet.csv", {"start": "2025-03-01", "end": "2025-03-05", "punch": "pin"}
    )
    assert [(r["employee_id"], r["workday"], r["pin_punches"]) for r in csv_rows(sheet)] == [
        ("B002", DAY, "1")
    ]

    wrong = manager_client.get("/api/v1/reports/day/", {"day": DAY, "punch": "face"})
    assert wrong.status_code == 400 and "Unknown punch filter: face" in wrong.json()["detail"]
