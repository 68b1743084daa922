"""Report test helpers: lay down a workday as local clock times, and read outputs back (HTML, CSV, XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from django.conf import settings
from openpyxl import load_workbook

from attendance.models import AttendanceEvent
from tests.factories import AttendanceEventFactory


class _Tables(HTMLParser):
    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.depth = table_id, False, 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, table_id: str = "report") -> list[list[str]]:
    """Return the text of each cell of each row of the table with this id (header row first)."""
    parser = _Tables(table_id)
    parser.feed(html)
    return parser.rows


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def xlsx_rows(response, sheet: str | None = None) -> list[dict]:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list((book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def local(day: dt.date, clock: str) -> dt.datetime:
    """Return the aware moment of a local wall-clock time ("09:06", "09:05:59") on a calendar day."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=ZoneInfo(settings.TIME_ZONE))


def workday_events(person, workday: dt.date, *pairs: tuple[str, str | None]) -> list[AttendanceEvent]:
    """Record entry/exit pairs of local times on a workday, in order; None for a missing exit.

    Times run forward: a time earlier than the one before it (or, first, earlier than the
    workday boundary) is on the next calendar day, as on a night shift ("22:10", "06:10").
    """
    boundary = dt.time.fromisoformat(settings.WORKDAY_START)
    events, day, previous = [], workday, boundary
    for pair in pairs:
        for kind, clock in zip((AttendanceEvent.Kind.IN, AttendanceEvent.Kind.OUT), pair, strict=True):
            if clock is None:
                continue
            time = dt.time.fromisoformat(clock)
            if time < previous and day == workday:
                day = workday + dt.timedelta(days=1)
            previous = time
            events.append(AttendanceEventFactory(person=person, kind=kind, timestamp=local(day, clock)))
    return events
