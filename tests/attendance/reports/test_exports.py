"""Spreadsheet safety of the exports: text that a spreadsheet could run stays inert text."""

import io

import pytest
from openpyxl import load_workbook

from attendance.reports.exports import csv_value, xlsx_response

DANGEROUS = ["=1+1", "+1", "-1", "@SUM(A1)", " =1+1", ";=1+1", "|calc", "\uff1d1+1", "\uff20SUM(A1)", "\t=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_neutralises_every_formula_start(text):
    """Each value a spreadsheet could read as a formula gets the leading apostrophe."""
    assert csv_value(text) == f"'{text}"


def test_csv_leaves_plain_text_alone():
    assert csv_value("Ana Lima") == "Ana Lima"
    assert csv_value("E-1002") == "E-1002"


def test_xlsx_stores_formula_looking_text_as_text_without_an_apostrophe():
    """An XLSX cell holds the name exactly as typed, as a string: no formula, no visible apostrophe."""
    records = [{"name": text} for text in DANGEROUS]
    response = xlsx_response([("People", ["name"], records)], filename="people")
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == DANGEROUS
    assert {cell.data_type for cell in cells} == {"s"}
