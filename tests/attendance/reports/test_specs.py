"""The report specs: every sort name a report lists works everywhere, and any other is a 400, never a 500."""

from __future__ import annotations

import dataclasses

import pytest
from django.urls import reverse

from attendance.reports.specs import DAY, REPORTS
from tests.attendance.reports.conftest import MONDAY

RANGE = {"start": MONDAY.isoformat(), "end": MONDAY.isoformat()}
QUERIES = {"today": {}, "day": {"day": MONDAY.isoformat()}, "timesheet": RANGE, "departments": RANGE}


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_sort_name_sorts_the_page_the_downloads_and_the_json(scenario, manager_client, name):
    """Each of a report's sort names, either way round, gives a 200 on its page, CSV and JSON."""
    spec = REPORTS[name]
    for sort in [*spec.sorts, *(f"-{key}" for key in spec.sorts)]:
        query = {**QUERIES[name], "sort": sort}
        for url in (f"reports:{name}", f"reports:{name}-csv", f"reports:api-{name}"):
            assert manager_client.get(reverse(url), query).status_code == 200, (url, sort)


@pytest.mark.parametrize("name", list(REPORTS))
def test_an_unknown_sort_name_is_a_400_with_a_message(scenario, manager_client, name):
    """A sort name the report does not list is refused with a message on the page, downloads and JSON."""
    query = {**QUERIES[name], "sort": "-salary"}
    for url in (f"reports:{name}", f"reports:{name}-csv", f"reports:{name}-xlsx"):
        response = manager_client.get(reverse(url), query)
        assert response.status_code == 400, url
        assert "Unknown sort column: -salary." in response.content.decode()
    body = manager_client.get(reverse(f"reports:api-{name}"), query)
    assert body.status_code == 400
    assert body.json()["errors"]["sort"] == ["Unknown sort column: -salary."]


def test_the_form_accepts_exactly_the_spec_sort_names(db):
    """The sort names are listed once: the form's choices are the spec's names, both ways round."""
    from attendance.reports.selectors import ReportScope

    for spec in REPORTS.values():
        form = spec.make_form({}, scope=ReportScope())
        choices = {value for value, _label in form.fields["sort"].choices} - {""}
        assert choices == {*spec.sorts, *(f"-{key}" for key in spec.sorts)}
        assert {key for key, _label in spec.header} <= set(spec.sorts)


def test_sorting_by_a_name_the_spec_does_not_list_keeps_the_order():
    """A sort name that reached spec.sort anyway leaves the rows as they are rather than failing."""
    rows = [3, 1, 2]
    assert DAY.sort(rows, "salary") == [3, 1, 2]
    assert DAY.sort(rows, "") == [3, 1, 2]


def test_a_header_column_that_is_not_a_sort_name_is_refused_at_start_up():
    """A spec whose page links to a sort name it does not list cannot even be built."""
    with pytest.raises(ValueError, match="salary"):
        dataclasses.replace(DAY, header=[*DAY.header, ("salary", "Salary")])
