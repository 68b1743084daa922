"""Each report as data: one ReportSpec per report drives its page, its CSV and XLSX downloads and its JSON.

A spec names the report's filters (a form), how its rows are read (selectors), the columns a user may
sort by (listed once: the form accepts exactly these, the page's header links to them, the rows are
sorted by them), the records its downloads and API carry (stable column names: the payroll interface
documented in the README; add, never rename), and what its page and its JSON add around the rows.
attendance/reports/views.py and api.py run every spec the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from rest_framework import serializers

from attendance.reports import serializers as out
from attendance.reports.forms import (
    PUNCH_PIN,
    DayReportForm,
    ReportForm,
    SummaryForm,
    TimesheetForm,
    TodayForm,
)
from attendance.reports.rules import STATE_LABELS, today_rows_in_state
from attendance.reports.selectors import (
    DepartmentTotals,
    PersonDay,
    PersonTotals,
    ReportScope,
    TodayRow,
    attendance_day_rows,
    attendance_period_summary,
    attendance_timesheet_rows,
    attendance_today,
    hours_per_day,
    timesheet_totals,
)


@dataclass
class ReportResult:
    """What a report read: its rows (sorted and paged by the views) and what else its page shows."""

    rows: list
    extra: Any = None


@dataclass(frozen=True)
class Sheet:
    """One table of a download: an XLSX worksheet, or the CSV file when `csv_level` is asked for."""

    title: str
    columns: Sequence[str]
    record: Callable[[Any], dict]
    # Which rows: the report's main rows unless said otherwise.
    rows: Callable[[ReportResult], Sequence] = lambda result: result.rows
    # The CSV gives this sheet for ?level=<csv_level>; "" is the one it gives by default.
    csv_level: str = ""
    filename_suffix: str = ""

    def records(self, result: ReportResult) -> Iterator[dict]:
        """Yield this sheet's records of a report's result, one per row (a download streams them)."""
        for row in self.rows(result):
            yield self.record(row)


@dataclass(frozen=True)
class ReportSpec:
    """Everything that makes one report; views.py and api.py hold no report-specific step."""

    name: str  # URL names: reports:<name>, reports:<name>-csv, reports:<name>-xlsx, reports:api-<name>
    summary: str  # one line, for the API documentation
    form: type[ReportForm]
    read: Callable[[dict, ReportScope], ReportResult]
    sorts: Mapping[str, Callable[[Any], object]]  # sort name -> key: the only list of sort names
    header: Sequence[tuple[str, str]]  # the page's sortable columns: (sort name, label)
    sheets: Sequence[Sheet]
    filename: Callable[[ReportResult, dict], str]  # without its extension
    template: str
    page_context: Callable[[ReportResult, dict], dict]
    # The JSON answer: its schema name, one row's serializer, the fields around the rows and their values.
    api_name: str
    api_row: type[serializers.Serializer]
    api_fields: Mapping[str, serializers.Field]
    api_body: Callable[[ReportResult, dict], dict]
    api_params: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self):
        unknown = [key for key, _label in self.header if key not in self.sorts]
        if unknown:
            raise ValueError(f"report {self.name!r}: header columns {unknown} are not sort names")

    def make_form(self, data, *, scope: ReportScope) -> ReportForm:
        """Return the report's filters bound to `data`, accepting exactly this report's sort names."""
        return self.form(data, scope=scope, sort_keys=self.sorts)

    def sort(self, rows: list, sort: str) -> list:
        """Return rows sorted by a sort name ("-" first for descending); empty values always go last.

        An unknown name leaves the order as it is (the form has refused it already).
        """
        key = self.sorts.get(sort.lstrip("-")) if sort else None
        if key is None:
            return rows
        filled = [row for row in rows if key(row) is not None]
        empty = [row for row in rows if key(row) is None]
        return sorted(filled, key=key, reverse=sort.startswith("-")) + empty

    def csv_sheet(self, level: str) -> Sheet:
        """Return the sheet the CSV download gives for ?level=..., the default one for any other."""
        by_level = {sheet.csv_level: sheet for sheet in self.sheets}
        return by_level.get(level, by_level[""])


# ---------------------------------------------------------------------------------------------
# Records: a row as the columns of the downloads and the API.
# ---------------------------------------------------------------------------------------------


def _department(person) -> str:
    return person.department.name if person.department_id else ""


DAY_COLUMNS = [
    "workday",
    "employee_id",
    "full_name",
    "department",
    "shift_start",
    "first_entry",
    "last_exit",
    "hours_worked",
    "late",
    "late_minutes",
    "missing_exit",
    "status",
    "expected_hours",
    "overtime_hours",
    "early_leave_minutes",
    "pin_punches",
]
TIMESHEET_COLUMNS = [
    "workday",
    "employee_id",
    "full_name",
    "department",
    "entries",
    "exits",
    "hours_worked",
    "late",
    "late_minutes",
    "missing_exit",
    "status",
    "expected_hours",
    "overtime_hours",
    "early_leave_minutes",
    "pin_punches",
]
TODAY_COLUMNS = [
    "workday",
    "employee_id",
    "full_name",
    "department",
    "shift_start",
    "state",
    "first_entry",
    "last_event",
    "late",
    "late_minutes",
]
SUMMARY_PERSON_COLUMNS = [
    "employee_id",
    "full_name",
    "department",
    "working_days",
    "days_present",
    "attendance_rate",
    "total_hours",
    "average_hours",
    "late_count",
    "expected_hours",
    "overtime_hours",
    "absent_days",
    "leave_days",
]
SUMMARY_DEPARTMENT_COLUMNS = [
    "department",
    "people",
    "working_days",
    "days_present",
    "attendance_rate",
    "total_hours",
    "average_hours",
    "late_count",
    "expected_hours",
    "overtime_hours",
    "absent_days",
    "leave_days",
]


def day_record(row: PersonDay) -> dict:
    day = row.day
    return {
        "workday": day.workday,
        "employee_id": row.person.employee_id,
        "full_name": row.person.full_name,
        "department": _department(row.person),
        "shift_start": row.shift_start,
        "first_entry": day.first_entry,
        "last_exit": day.last_exit,
        "hours_worked": day.hours,
        "late": day.late,
        "late_minutes": day.late_minutes,
        "missing_exit": day.missing_exit,
        "status": day.status,
        "expected_hours": day.expected_hours,
        "overtime_hours": day.overtime_hours,
        "early_leave_minutes": day.early_leave_minutes,
        "pin_punches": row.pin_punches,
    }


def timesheet_record(row: PersonDay) -> dict:
    record = day_record(row)
    record["entries"] = list(row.day.entries)
    record["exits"] = list(row.day.exits)
    return {name: record[name] for name in TIMESHEET_COLUMNS}


def today_record(row: TodayRow) -> dict:
    return {
        "workday": row.day.workday,
        "employee_id": row.person.employee_id,
        "full_name": row.person.full_name,
        "department": _department(row.person),
        "shift_start": row.person.shift_start,
        "state": row.state,
        "first_entry": row.day.first_entry,
        "last_event": row.last_event,
        "late": row.day.late,
        "late_minutes": row.day.late_minutes,
    }


def summary_person_record(item: PersonTotals) -> dict:
    return {
        "employee_id": item.person.employee_id,
        "full_name": item.person.full_name,
        "department": _department(item.person),
        **out.totals_record(item.totals),
    }


def summary_department_record(item: DepartmentTotals) -> dict:
    return {"department": item.name, "people": item.totals.people, **out.totals_record(item.totals)}


# ---------------------------------------------------------------------------------------------
# Sort keys: rows are computed in Python (hours, lateness), so they are sorted there.
# ---------------------------------------------------------------------------------------------


def _name(person) -> tuple:
    return (person.full_name.lower(), person.employee_id)


def _department_key(person) -> str:
    return person.department.name.lower() if person.department_id else ""


PERSON_SORTS: dict[str, Callable[[Any], object]] = {
    "name": lambda r: _name(r.person),
    "employee_id": lambda r: r.person.employee_id,
    "department": lambda r: _department_key(r.person),
}
PERSON_DAY_SORTS: dict[str, Callable[[PersonDay], object]] = {
    **PERSON_SORTS,
    "first_entry": lambda r: r.day.first_entry,
    "last_exit": lambda r: r.day.last_exit,
    "hours": lambda r: r.day.worked,
    "late": lambda r: r.day.late_minutes,
    "status": lambda r: r.day.status,
    "expected": lambda r: r.day.expected,
    "overtime": lambda r: r.day.overtime,
}


# The columns every report's table starts with.
PERSON_HEADER = [("name", "Name"), ("employee_id", "Employee ID"), ("department", "Department")]


def _punches(rows: list[PersonDay], data: dict) -> list[PersonDay]:
    """Keep only the days with a PIN punch when the report's `punch` filter asks for them."""
    if data.get("punch") == PUNCH_PIN:
        return [row for row in rows if row.pin_punches]
    return rows


def _chart(labels: list, values: list, label: str) -> dict:
    return {"labels": labels, "values": values, "label": label}


# ---------------------------------------------------------------------------------------------
# Today.
# ---------------------------------------------------------------------------------------------


def _today_read(data: dict, scope: ReportScope) -> ReportResult:
    report = attendance_today(scope=scope, department=data["department"], search=data["q"])
    return ReportResult(rows=today_rows_in_state(report.rows, data["state"]), extra=report)


TODAY = ReportSpec(
    name="today",
    summary="Who is in, out, not yet in and late on the current workday",
    form=TodayForm,
    read=_today_read,
    sorts={
        **PERSON_SORTS,
        "shift_start": lambda r: r.person.shift_start,
        "state": lambda r: r.state,
        "first_entry": lambda r: r.day.first_entry,
        "last_event": lambda r: r.last_event,
        "late": lambda r: r.day.late_minutes,
    },
    header=[
        *PERSON_HEADER,
        ("shift_start", "Shift"),
        ("state", "Now"),
        ("first_entry", "First entry"),
        ("last_event", "Last event"),
        ("late", "Late"),
    ],
    sheets=[Sheet("Today", TODAY_COLUMNS, today_record)],
    filename=lambda result, data: f"today_{result.extra.workday}",
    template="reports/today.html",
    page_context=lambda result, data: {
        "report": result.extra,
        "chart": _chart(
            [item["hour"] for item in result.extra.arrivals_by_hour],
            [item["arrivals"] for item in result.extra.arrivals_by_hour],
            "Arrivals",
        ),
        "state_labels": STATE_LABELS,
        "refresh_seconds": settings.REPORT_TODAY_REFRESH_SECONDS,
    },
    api_name="TodayReport",
    api_row=out.TodayRowSerializer,
    api_fields={
        "workday": serializers.DateField(),
        "generated_at": serializers.DateTimeField(),
        "counts": serializers.DictField(child=serializers.IntegerField()),
        "arrivals_by_hour": serializers.ListField(child=serializers.DictField()),
    },
    api_body=lambda result, data: {
        "workday": result.extra.workday,
        "generated_at": result.extra.generated_at,
        "counts": result.extra.counts,
        "arrivals_by_hour": result.extra.arrivals_by_hour,
    },
    api_params=("department", "q", "state", "sort", "page", "page_size"),
)


# ---------------------------------------------------------------------------------------------
# Day.
# ---------------------------------------------------------------------------------------------


def _day_page(result: ReportResult, data: dict) -> dict:
    """The day, and the links to the day before and after with the same filters."""
    day = data["day"]
    department = data["department"]
    kept = {
        "department": department.pk if department else "",
        "q": data["q"],
        "punch": data["punch"],
        "sort": data["sort"],
    }
    kept = {key: value for key, value in kept.items() if value}
    before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    return {
        "day": day,
        "previous_day": before,
        "next_day": after,
        "previous_query": urlencode({"day": before.isoformat(), **kept}),
        "next_query": urlencode({"day": after.isoformat(), **kept}),
    }


DAY = ReportSpec(
    name="day",
    summary="Per person for one workday: first entry, last exit, hours, lateness, status",
    form=DayReportForm,
    read=lambda data, scope: ReportResult(
        rows=_punches(
            attendance_day_rows(
                day=data["day"], scope=scope, department=data["department"], search=data["q"]
            ),
            data,
        )
    ),
    sorts={**PERSON_DAY_SORTS, "shift_start": lambda r: r.shift_start},
    header=[
        *PERSON_HEADER,
        ("shift_start", "Shift"),
        ("first_entry", "First entry"),
        ("last_exit", "Last exit"),
        ("hours", "Hours"),
        ("late", "Late"),
        ("status", "Status"),
        ("expected", "Expected"),
        ("overtime", "Overtime"),
    ],
    sheets=[Sheet("Day", DAY_COLUMNS, day_record)],
    filename=lambda result, data: f"day_{data['day']}",
    template="reports/day.html",
    page_context=_day_page,
    api_name="DayReport",
    api_row=out.DayRowSerializer,
    api_fields={"day": serializers.DateField()},
    api_body=lambda result, data: {"day": data["day"]},
    api_params=("day", "department", "q", "punch", "sort", "page", "page_size"),
)


# ---------------------------------------------------------------------------------------------
# Timesheet: a row per person per day over a range, or one person's days.
# ---------------------------------------------------------------------------------------------


def _timesheet_read(data: dict, scope: ReportScope) -> ReportResult:
    rows = attendance_timesheet_rows(
        start=data["start"],
        end=data["end"],
        scope=scope,
        department=data["department"],
        search=data["q"],
        person=data["person"],
    )
    rows = _punches(rows, data)
    return ReportResult(rows=rows, extra=timesheet_totals(rows, start=data["start"], end=data["end"]))


def _timesheet_page(result: ReportResult, data: dict) -> dict:
    per_day = hours_per_day(result.rows)
    return {
        "totals": result.extra,
        "person": data["person"],
        "start": data["start"],
        "end": data["end"],
        "chart": _chart(
            [item["workday"].strftime("%a %d %b") for item in per_day],
            [float(item["hours"]) for item in per_day],
            "Hours worked",
        ),
        # The chart's figures as a table, for screen readers and for reading exact values.
        "chart_rows": [(item["workday"], item["hours"]) for item in per_day],
    }


def _timesheet_filename(result: ReportResult, data: dict) -> str:
    who = f"{data['person'].employee_id}_" if data["person"] else ""
    return f"timesheet_{who}{data['start']}_{data['end']}"


TIMESHEET = ReportSpec(
    name="timesheet",
    summary="A row per person per workday over a date range, with totals",
    form=TimesheetForm,
    read=_timesheet_read,
    sorts={"date": lambda r: r.day.workday, **PERSON_DAY_SORTS},
    header=[
        ("date", "Date"),
        ("name", "Name"),
        ("department", "Department"),
        ("first_entry", "Entries"),
        ("last_exit", "Exits"),
        ("hours", "Hours"),
        ("late", "Late"),
        ("status", "Status"),
        ("expected", "Expected"),
        ("overtime", "Overtime"),
    ],
    sheets=[Sheet("Timesheet", TIMESHEET_COLUMNS, timesheet_record)],
    filename=_timesheet_filename,
    template="reports/timesheet.html",
    page_context=_timesheet_page,
    api_name="Timesheet",
    api_row=out.TimesheetRowSerializer,
    api_fields={
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "totals": out.TotalsSerializer(),
    },
    api_body=lambda result, data: {
        "start": data["start"],
        "end": data["end"],
        "totals": out.TotalsSerializer(out.totals_record(result.extra)).data,
    },
    api_params=("start", "end", "person", "department", "q", "punch", "sort", "page", "page_size"),
)


# ---------------------------------------------------------------------------------------------
# Department summary: totals per person (the rows) and per department.
# ---------------------------------------------------------------------------------------------


def _departments_read(data: dict, scope: ReportScope) -> ReportResult:
    people, departments = attendance_period_summary(
        start=data["start"], end=data["end"], scope=scope, department=data["department"], search=data["q"]
    )
    return ReportResult(rows=people, extra=departments)


DEPARTMENTS = ReportSpec(
    name="departments",
    summary="Attendance rate, average hours and late count per department and per person",
    form=SummaryForm,
    read=_departments_read,
    sorts={
        **PERSON_SORTS,
        "working_days": lambda r: r.totals.working_days,
        "days_present": lambda r: r.totals.days_present,
        "attendance_rate": lambda r: r.totals.attendance_rate,
        "total_hours": lambda r: r.totals.worked,
        "average_hours": lambda r: r.totals.average_hours,
        "late_count": lambda r: r.totals.late_count,
        "expected_hours": lambda r: r.totals.expected,
        "overtime_hours": lambda r: r.totals.overtime,
        "absent_days": lambda r: r.totals.absent_days,
        "leave_days": lambda r: r.totals.leave_days,
    },
    header=[
        *PERSON_HEADER,
        ("working_days", "Working days"),
        ("days_present", "Days present"),
        ("attendance_rate", "Attendance"),
        ("total_hours", "Hours"),
        ("average_hours", "Average hours"),
        ("late_count", "Times late"),
        ("expected_hours", "Expected"),
        ("overtime_hours", "Overtime"),
        ("absent_days", "Days absent"),
        ("leave_days", "Days on leave"),
    ],
    sheets=[
        Sheet(
            "Departments",
            SUMMARY_DEPARTMENT_COLUMNS,
            summary_department_record,
            rows=lambda result: result.extra,
            csv_level="department",
            filename_suffix="_departments",
        ),
        Sheet("People", SUMMARY_PERSON_COLUMNS, summary_person_record),
    ],
    filename=lambda result, data: f"departments_{data['start']}_{data['end']}",
    template="reports/departments.html",
    page_context=lambda result, data: {
        "start": data["start"],
        "end": data["end"],
        "departments": result.extra,
        "chart": _chart(
            [d.name or "No department" for d in result.extra],
            [float(d.totals.attendance_rate or 0) * 100 for d in result.extra],
            "Attendance rate (%)",
        ),
    },
    api_name="DepartmentSummary",
    api_row=out.SummaryPersonSerializer,
    api_fields={
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "departments": out.SummaryDepartmentSerializer(many=True),
    },
    api_body=lambda result, data: {
        "start": data["start"],
        "end": data["end"],
        "departments": [
            out.SummaryDepartmentSerializer(summary_department_record(d)).data for d in result.extra
        ],
    },
    api_params=("start", "end", "department", "q", "sort", "page", "page_size"),
)

REPORTS: dict[str, ReportSpec] = {spec.name: spec for spec in (TODAY, DAY, TIMESHEET, DEPARTMENTS)}
