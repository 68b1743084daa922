"""Read report outputs back: HTML tables, CSV and XLSX downloads."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from openpyxl import load_workbook


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
