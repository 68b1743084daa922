"""Report pages and their CSV/XLSX exports: validate the filters, call one selector, render.

Every view checks login (the site's login page) and the `attendance.view_reports` permission
(403 otherwise), and reads through the user's ReportScope, so a manager limited to some
departments never sees anybody else, in pages and exports alike.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from attendance import exports
from attendance.report_forms import DayReportForm, ReportForm, SummaryForm, TimesheetForm, TodayForm
from attendance.selectors import (
    STATE_LABELS,
    PersonDay,
    PersonTotals,
    TodayRow,
    attendance_day_rows,
    attendance_period_summary,
    attendance_timesheet_rows,
    attendance_today,
    hours_per_day,
    report_scope_for,
    timesheet_totals,
    today_rows_in_state,
)

REPORT_PERMISSION = "attendance.view_reports"
LOGIN_URL = "reports:login"


def reports_view(view: Callable) -> Callable:
    """Send anonymous users to the login page and refuse (403) users without the reports permission."""
    guarded = permission_required(REPORT_PERMISSION, raise_exception=True)(view)
    return login_required(guarded, login_url=LOGIN_URL)


def home(request: HttpRequest) -> HttpResponse:
    """The site's front page: links to what the user may open."""
    can_report = request.user.is_authenticated and request.user.has_perm(REPORT_PERMISSION)
    return render(request, "home.html", {"can_report": can_report})


# ---------------------------------------------------------------------------------------------
# Sorting and paging: rows are computed in Python (hours, lateness), so they are sorted there.
# ---------------------------------------------------------------------------------------------


def _name(person) -> tuple:
    return (person.full_name.lower(), person.employee_id)


def _department(person) -> str:
    return person.department.name.lower() if person.department_id else ""


PERSON_DAY_KEYS: dict[str, Callable[[PersonDay], object]] = {
    "name": lambda r: _name(r.person),
    "employee_id": lambda r: r.person.employee_id,
    "department": lambda r: _department(r.person),
    "shift_start": lambda r: r.shift_start,
    "first_entry": lambda r: r.day.first_entry,
    "last_exit": lambda r: r.day.last_exit,
    "hours": lambda r: r.day.worked,
    "late": lambda r: r.day.late_minutes,
    "status": lambda r: r.day.status,
    "date": lambda r: r.day.workday,
}
TODAY_KEYS: dict[str, Callable[[TodayRow], object]] = {
    "name": lambda r: _name(r.person),
    "employee_id": lambda r: r.person.employee_id,
    "department": lambda r: _department(r.person),
    "shift_start": lambda r: r.person.shift_start,
    "state": lambda r: r.state,
    "first_entry": lambda r: r.day.first_entry,
    "last_event": lambda r: r.last_event,
    "late": lambda r: r.day.late_minutes,
}
SUMMARY_KEYS: dict[str, Callable[[PersonTotals], object]] = {
    "name": lambda r: _name(r.person),
    "employee_id": lambda r: r.person.employee_id,
    "department": lambda r: _department(r.person),
    "working_days": lambda r: r.totals.working_days,
    "days_present": lambda r: r.totals.days_present,
    "attendance_rate": lambda r: r.totals.attendance_rate,
    "total_hours": lambda r: r.totals.worked,
    "average_hours": lambda r: r.totals.average_hours,
    "late_count": lambda r: r.totals.late_count,
}


def sort_rows(rows: list, sort: str, keys: dict[str, Callable]) -> list:
    """Return rows sorted by a column ("-" first for descending); empty values always go last."""
    if not sort:
        return rows
    descending = sort.startswith("-")
    key = keys[sort.lstrip("-")]
    filled = [row for row in rows if key(row) is not None]
    empty = [row for row in rows if key(row) is None]
    return sorted(filled, key=key, reverse=descending) + empty


def header(columns: list[tuple[str, str]], sort: str) -> list[dict]:
    """Return the table's column headers with the sort each link asks for and the current direction."""
    result = []
    for key, label in columns:
        direction = "asc" if sort == key else "desc" if sort == f"-{key}" else ""
        result.append(
            {"key": key, "label": label, "sort": f"-{key}" if sort == key else key, "dir": direction}
        )
    return result


def page_of(request: HttpRequest, rows: list):
    return Paginator(rows, settings.REPORT_PAGE_SIZE).get_page(request.GET.get("page"))


def invalid(request: HttpRequest, template: str, form: ReportForm, **context) -> HttpResponse:
    """Render the page with the form's messages and no rows, as a 400."""
    return render(request, template, {"form": form, "invalid": True, **context}, status=400)


# ---------------------------------------------------------------------------------------------
# Today.
# ---------------------------------------------------------------------------------------------

TODAY_HEADER = [
    ("name", "Name"),
    ("employee_id", "Employee ID"),
    ("department", "Department"),
    ("shift_start", "Shift"),
    ("state", "Now"),
    ("first_entry", "First entry"),
    ("last_event", "Last event"),
    ("late", "Late"),
]


@reports_view
def today(request: HttpRequest, fmt: str | None = None) -> HttpResponse:
    """Who is in now, checked out, not yet in, and late; counts per department; arrivals by hour."""
    scope = report_scope_for(user=request.user)
    form = TodayForm(request.GET, scope=scope)
    if not form.is_valid():
        return invalid(request, "reports/today.html", form)
    data = form.cleaned_data
    report = attendance_today(scope=scope, department=data["department"], search=data["q"])
    rows = today_rows_in_state(report.rows, data["state"])
    rows = sort_rows(rows, data["sort"], TODAY_KEYS)
    if fmt:
        records = (exports.today_record(row) for row in rows)
        filename = f"today_{report.workday}"
        if fmt == "csv":
            return exports.csv_response(records, columns=exports.TODAY_COLUMNS, filename=filename)
        return exports.xlsx_response([("Today", exports.TODAY_COLUMNS, records)], filename=filename)
    chart = {
        "labels": [item["hour"] for item in report.arrivals_by_hour],
        "values": [item["arrivals"] for item in report.arrivals_by_hour],
        "label": "Arrivals",
    }
    return render(
        request,
        "reports/today.html",
        {
            "form": form,
            "report": report,
            "page": page_of(request, rows),
            "header": header(TODAY_HEADER, data["sort"]),
            "chart": chart,
            "state_labels": STATE_LABELS,
            "refresh_seconds": settings.REPORT_TODAY_REFRESH_SECONDS,
        },
    )


# ---------------------------------------------------------------------------------------------
# Day report.
# ---------------------------------------------------------------------------------------------

DAY_HEADER = [
    ("name", "Name"),
    ("employee_id", "Employee ID"),
    ("department", "Department"),
    ("shift_start", "Shift"),
    ("first_entry", "First entry"),
    ("last_exit", "Last exit"),
    ("hours", "Hours"),
    ("late", "Late"),
    ("status", "Status"),
]


@reports_view
def day(request: HttpRequest, fmt: str | None = None) -> HttpResponse:
    """One workday: first entry, last exit, hours worked, lateness and status per person."""
    scope = report_scope_for(user=request.user)
    form = DayReportForm(request.GET, scope=scope)
    if not form.is_valid():
        return invalid(request, "reports/day.html", form)
    data = form.cleaned_data
    rows = attendance_day_rows(day=data["day"], scope=scope, department=data["department"], search=data["q"])
    rows = sort_rows(rows, data["sort"], PERSON_DAY_KEYS)
    if fmt:
        records = (exports.day_record(row) for row in rows)
        filename = f"day_{data['day']}"
        if fmt == "csv":
            return exports.csv_response(records, columns=exports.DAY_COLUMNS, filename=filename)
        return exports.xlsx_response([("Day", exports.DAY_COLUMNS, records)], filename=filename)
    return render(
        request,
        "reports/day.html",
        {
            "form": form,
            "page": page_of(request, rows),
            "header": header(DAY_HEADER, data["sort"]),
            "day": data["day"],
        },
    )


# ---------------------------------------------------------------------------------------------
# Timesheet.
# ---------------------------------------------------------------------------------------------

TIMESHEET_HEADER = [
    ("date", "Date"),
    ("name", "Name"),
    ("department", "Department"),
    ("first_entry", "Entries"),
    ("last_exit", "Exits"),
    ("hours", "Hours"),
    ("late", "Late"),
    ("status", "Status"),
]


@reports_view
def timesheet(request: HttpRequest, fmt: str | None = None) -> HttpResponse:
    """A row per day (and per person unless one is chosen) over a date range, with totals."""
    scope = report_scope_for(user=request.user)
    form = TimesheetForm(request.GET, scope=scope)
    if not form.is_valid():
        return invalid(request, "reports/timesheet.html", form)
    data = form.cleaned_data
    rows = attendance_timesheet_rows(
        start=data["start"],
        end=data["end"],
        scope=scope,
        department=data["department"],
        search=data["q"],
        person=data["person"],
    )
    rows = sort_rows(rows, data["sort"], PERSON_DAY_KEYS)
    if fmt:
        records = (exports.timesheet_record(row) for row in rows)
        who = f"{data['person'].employee_id}_" if data["person"] else ""
        filename = f"timesheet_{who}{data['start']}_{data['end']}"
        if fmt == "csv":
            return exports.csv_response(records, columns=exports.TIMESHEET_COLUMNS, filename=filename)
        return exports.xlsx_response([("Timesheet", exports.TIMESHEET_COLUMNS, records)], filename=filename)
    per_day = hours_per_day(rows)
    chart = {
        "labels": [item["workday"].strftime("%a %d %b") for item in per_day],
        "values": [float(item["hours"]) for item in per_day],
        "label": "Hours worked",
    }
    return render(
        request,
        "reports/timesheet.html",
        {
            "form": form,
            "page": page_of(request, rows),
            "header": header(TIMESHEET_HEADER, data["sort"]),
            "totals": timesheet_totals(rows, start=data["start"], end=data["end"]),
            "person": data["person"],
            "chart": chart,
        },
    )


# ---------------------------------------------------------------------------------------------
# Department summary.
# ---------------------------------------------------------------------------------------------

SUMMARY_HEADER = [
    ("name", "Name"),
    ("employee_id", "Employee ID"),
    ("department", "Department"),
    ("working_days", "Working days"),
    ("days_present", "Days present"),
    ("attendance_rate", "Attendance"),
    ("total_hours", "Hours"),
    ("average_hours", "Average hours"),
    ("late_count", "Times late"),
]


@reports_view
def departments(request: HttpRequest, fmt: str | None = None) -> HttpResponse:
    """Attendance rate, average hours and late count per person and per department over a range."""
    scope = report_scope_for(user=request.user)
    form = SummaryForm(request.GET, scope=scope)
    if not form.is_valid():
        return invalid(request, "reports/departments.html", form)
    data = form.cleaned_data
    people, depts = attendance_period_summary(
        start=data["start"], end=data["end"], scope=scope, department=data["department"], search=data["q"]
    )
    people = sort_rows(people, data["sort"], SUMMARY_KEYS)
    if fmt:
        person_records = (exports.summary_person_record(item) for item in people)
        dept_records = (exports.summary_department_record(item) for item in depts)
        filename = f"departments_{data['start']}_{data['end']}"
        if fmt == "csv":
            if request.GET.get("level") == "department":
                return exports.csv_response(
                    dept_records,
                    columns=exports.SUMMARY_DEPARTMENT_COLUMNS,
                    filename=f"{filename}_departments",
                )
            return exports.csv_response(
                person_records, columns=exports.SUMMARY_PERSON_COLUMNS, filename=filename
            )
        return exports.xlsx_response(
            [
                ("Departments", exports.SUMMARY_DEPARTMENT_COLUMNS, dept_records),
                ("People", exports.SUMMARY_PERSON_COLUMNS, person_records),
            ],
            filename=filename,
        )
    chart = {
        "labels": [d.name or "No department" for d in depts],
        "values": [float(d.totals.attendance_rate or 0) * 100 for d in depts],
        "label": "Attendance rate (%)",
    }
    return render(
        request,
        "reports/departments.html",
        {
            "form": form,
            "departments": depts,
            "page": page_of(request, people),
            "header": header(SUMMARY_HEADER, data["sort"]),
            "chart": chart,
        },
    )
