"""Report rows as records with stable column names, written as CSV (csv module) or XLSX (openpyxl).

The JSON API serialises the same records, so a column means the same thing in every format.
The column names are part of the payroll interface documented in the README: add, never rename.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from attendance.selectors import DepartmentTotals, PersonDay, PersonTotals, TodayRow

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
]


def _department(person) -> str:
    return person.department.name if person.department_id else ""


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
    totals = item.totals
    return {
        "employee_id": item.person.employee_id,
        "full_name": item.person.full_name,
        "department": _department(item.person),
        "working_days": totals.working_days,
        "days_present": totals.days_present,
        "attendance_rate": totals.attendance_rate,
        "total_hours": totals.total_hours,
        "average_hours": totals.average_hours,
        "late_count": totals.late_count,
    }


def summary_department_record(item: DepartmentTotals) -> dict:
    totals = item.totals
    return {
        "department": item.name,
        "people": totals.people,
        "working_days": totals.working_days,
        "days_present": totals.days_present,
        "attendance_rate": totals.attendance_rate,
        "total_hours": totals.total_hours,
        "average_hours": totals.average_hours,
        "late_count": totals.late_count,
    }


# ---------------------------------------------------------------------------------------------
# Cell values.
# ---------------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value, tz=None) -> str:
    """Return a value as CSV text: local ISO 8601 times, HH:MM lists, true/false, plain decimals.

    Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV injection).
    `tz` is the site's zone, looked up once per file rather than once per cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    if isinstance(value, dt.date | Decimal | int):
        return str(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, list):
        tz = tz or timezone.get_current_timezone()
        return " ".join(v.astimezone(tz).strftime("%H:%M") for v in value)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def xlsx_value(value):
    """Return a value as an XLSX cell: Excel has no time zones, so times are naive local ones."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return " ".join(timezone.localtime(v).strftime("%H:%M") for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(records: Iterable[dict], *, columns: list[str], filename: str) -> StreamingHttpResponse:
    """Return records as a streamed UTF-8 CSV download with a header row of the column names."""
    writer = csv.writer(_Echo())
    tz = timezone.get_current_timezone()

    def lines():
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read the names' accents right
        yield writer.writerow(columns)
        for record in records:
            yield writer.writerow([csv_value(record[name], tz) for name in columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_FORMATS = {
    dt.datetime: "yyyy-mm-dd hh:mm:ss",
    dt.date: "yyyy-mm-dd",
    dt.time: "hh:mm",
}


def xlsx_response(sheets: list[tuple[str, list[str], Iterable[dict]]], *, filename: str) -> HttpResponse:
    """Return one worksheet per (title, columns, records) as an XLSX download (openpyxl write-only)."""
    book = Workbook(write_only=True)
    for title, columns, records in sheets:
        sheet = book.create_sheet(title=title)
        sheet.freeze_panes = "A2"
        sheet.append(columns)
        for record in records:
            row = []
            for name in columns:
                value = xlsx_value(record[name])
                number_format = XLSX_FORMATS.get(type(value))
                if number_format:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = number_format
                    row.append(cell)
                else:
                    row.append(value)
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
