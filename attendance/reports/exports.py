"""Write report records as CSV (csv module) or XLSX (openpyxl): cell values, streaming, sheets.

Which records and columns each report has is its spec's business (attendance/reports/specs.py).
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

# ---------------------------------------------------------------------------------------------
# Cell values.
# ---------------------------------------------------------------------------------------------

# What a spreadsheet may read as the start of a formula (OWASP's list, plus what Excel and LibreOffice
# also accept: a leading space or separator before one, and the full-width signs of East Asian input).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", " ", ";", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20")


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
    """Return a value as an XLSX cell: Excel has no time zones, so times are naive local ones. Text
    stays text as it is (xlsx_response stores it as a string cell, never as a formula)."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return " ".join(timezone.localtime(v).strftime("%H:%M") for v in value)
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
                if isinstance(value, str) and value.startswith("="):
                    # openpyxl stores text starting with "=" as a formula: store it as text, as it
                    # reads (no apostrophe, which Excel would show as part of the name).
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    row.append(cell)
                elif number_format:
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
