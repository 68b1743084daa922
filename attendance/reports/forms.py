"""The filters of every report: one form per report, shared by the pages, the exports and the API.

The sort names a form accepts come from the report's spec (attendance/reports/specs.py), where they are
listed once; any other sort name is a form error, so a 400 with a message, never a 500.

Missing or blank parameters take their defaults (today, this month so far), so a bare URL shows
something useful; anything given is validated, and what is wrong comes back as a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django import forms
from django.conf import settings

from attendance.clock import current_workday
from attendance.reports.rules import STATE_LABELS
from attendance.reports.selectors import ReportScope
from people.models import Department, Person


def form_errors_text(form: forms.Form) -> str:
    """Return every error of a form as one line (API answers, page messages)."""
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


def sort_choices(keys: list[str]) -> list[tuple[str, str]]:
    return [("", "Default")] + [(k, k) for k in keys] + [(f"-{k}", f"-{k}") for k in keys]


class ReportForm(forms.Form):
    """Department and person search, limited to what the user may see, and the sort column."""

    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        required=False,
        empty_label="All departments",
        error_messages={"invalid_choice": "Unknown department."},
    )
    q = forms.CharField(required=False, max_length=100, label="Search")
    sort = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Unknown sort column: %(value)s."}
    )

    def __init__(self, data=None, *, scope: ReportScope, sort_keys: Iterable[str]):
        data = {key: value for key, value in (data or {}).items() if value not in ("", None)}
        for name, value in self.defaults().items():
            data.setdefault(name, value)
        super().__init__(data)
        self.scope = scope
        self.fields["department"].queryset = scope.departments()
        self.fields["sort"].choices = sort_choices(list(sort_keys))
        self.fields["q"].widget.attrs.update(placeholder="Name or employee ID", type="search")

    def defaults(self) -> dict[str, str]:
        return {}

    def error_text(self) -> str:
        """Return every error as one line, for the JSON API and plain-text answers."""
        return form_errors_text(self)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


DATE_ERRORS = {"invalid": "Enter a valid date as YYYY-MM-DD."}


PUNCH_PIN = "pin"


def punch_field() -> forms.ChoiceField:
    """Which punches a day or timesheet lists: any, or only days with an event recorded by PIN."""
    return forms.ChoiceField(
        required=False,
        label="Punches",
        choices=[("", "Any"), (PUNCH_PIN, "PIN punches only")],
        error_messages={"invalid_choice": "Unknown punch filter: %(value)s (use pin, or leave it out)."},
    )


class DayReportForm(ReportForm):
    day = forms.DateField(input_formats=["%Y-%m-%d"], widget=DateInput(), error_messages=DATE_ERRORS)
    punch = punch_field()

    field_order = ["day", "department", "q", "punch"]

    def defaults(self):
        return {"day": current_workday().isoformat()}


class TodayForm(ReportForm):
    state = forms.ChoiceField(
        required=False,
        choices=[("", "Everyone"), *STATE_LABELS.items(), ("late", "Late")],
        error_messages={"invalid_choice": "Unknown state: %(value)s."},
    )


class RangeForm(ReportForm):
    """A date range, at most settings.REPORT_MAX_RANGE_DAYS long; defaults to this month so far."""

    start = forms.DateField(input_formats=["%Y-%m-%d"], widget=DateInput(), error_messages=DATE_ERRORS)
    end = forms.DateField(input_formats=["%Y-%m-%d"], widget=DateInput(), error_messages=DATE_ERRORS)

    field_order = ["start", "end", "person", "department", "q"]

    def defaults(self):
        today = current_workday()
        return {"start": today.replace(day=1).isoformat(), "end": today.isoformat()}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            days = (end - start).days + 1
            if days > settings.REPORT_MAX_RANGE_DAYS:
                most = settings.REPORT_MAX_RANGE_DAYS
                raise forms.ValidationError(f"The range covers {days} days; reports cover at most {most}.")
        return data

    def days(self) -> list[dt.date]:
        start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


class TimesheetForm(RangeForm):
    person = forms.ModelChoiceField(
        queryset=Person.objects.none(),
        required=False,
        to_field_name="employee_id",
        empty_label="Everyone",
        error_messages={"invalid_choice": "Unknown person."},
    )
    punch = punch_field()

    def __init__(self, data=None, *, scope: ReportScope, sort_keys: Iterable[str]):
        super().__init__(data, scope=scope, sort_keys=sort_keys)
        self.fields["person"].queryset = scope.people().order_by("full_name")
        self.fields["person"].label_from_instance = lambda p: f"{p.full_name} ({p.employee_id})"


class SummaryForm(RangeForm):
    """The department summary's filters: a date range, a department, a search."""
