"""The report API's output serializers: they document each record in the OpenAPI schema and format it.

The records are the exports' records (attendance/reports/specs.py), so a field means the same in JSON,
CSV and XLSX. The serializers' names are the schema's component names: keep them.
"""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from attendance.reports.rules import STATE_LABELS, STATUS_LABELS


def hours_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=8, decimal_places=2, coerce_to_string=False, **kwargs)


class PersonDayRowSerializer(serializers.Serializer):
    """The columns every per-person, per-day row starts with."""

    workday = serializers.DateField()
    employee_id = serializers.CharField()
    full_name = serializers.CharField()
    department = serializers.CharField()
    shift_start = serializers.TimeField(format="%H:%M")


class DayRowSerializer(PersonDayRowSerializer):
    first_entry = serializers.DateTimeField(allow_null=True)
    last_exit = serializers.DateTimeField(allow_null=True)
    hours_worked = hours_field(help_text="Sum of entry-to-exit intervals; open intervals are not counted.")
    late = serializers.BooleanField()
    late_minutes = serializers.IntegerField(help_text="Minutes after shift start when late, else 0.")
    missing_exit = serializers.BooleanField()
    status = serializers.ChoiceField(choices=list(STATUS_LABELS))
    expected_hours = hours_field(
        help_text="The schedule's hours less its break; 0 on a day off, holiday or leave."
    )
    overtime_hours = hours_field(help_text="Hours worked beyond the expected hours.")
    early_leave_minutes = serializers.IntegerField(
        help_text="Minutes the last exit came before the shift end."
    )
    pin_punches = serializers.IntegerField(
        help_text="Events of the day recorded by PIN at a kiosk (no face recognised): for review."
    )


class TimesheetRowSerializer(DayRowSerializer):
    shift_start = None
    first_entry = None
    last_exit = None
    entries = serializers.ListField(child=serializers.DateTimeField())
    exits = serializers.ListField(child=serializers.DateTimeField())


class TodayRowSerializer(PersonDayRowSerializer):
    state = serializers.ChoiceField(choices=list(STATE_LABELS))
    first_entry = serializers.DateTimeField(allow_null=True)
    last_event = serializers.DateTimeField(allow_null=True)
    late = serializers.BooleanField()
    late_minutes = serializers.IntegerField()


class TotalsSerializer(serializers.Serializer):
    working_days = serializers.IntegerField()
    days_present = serializers.IntegerField()
    attendance_rate = serializers.DecimalField(
        max_digits=6, decimal_places=4, coerce_to_string=False, allow_null=True, help_text="0 to 1."
    )
    total_hours = hours_field()
    average_hours = hours_field(allow_null=True)
    late_count = serializers.IntegerField()
    expected_hours = hours_field()
    overtime_hours = hours_field(help_text="Overtime summed per day: a short day does not cancel a long one.")
    absent_days = serializers.IntegerField()
    leave_days = serializers.DecimalField(max_digits=6, decimal_places=1, coerce_to_string=False)


class SummaryPersonSerializer(TotalsSerializer):
    employee_id = serializers.CharField()
    full_name = serializers.CharField()
    department = serializers.CharField()


class SummaryDepartmentSerializer(TotalsSerializer):
    department = serializers.CharField()
    people = serializers.IntegerField()


def page_serializer(name: str, row: type[serializers.Serializer], **extra) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            **extra,
            "count": serializers.IntegerField(),
            "page": serializers.IntegerField(),
            "num_pages": serializers.IntegerField(),
            "page_size": serializers.IntegerField(),
            "results": row(many=True),
        },
    )


ERROR = inline_serializer(
    name="ReportError",
    fields={"detail": serializers.CharField(), "errors": serializers.DictField(required=False)},
)


def totals_record(totals) -> dict:
    """Return a PeriodTotals as the Totals record."""
    return {
        "working_days": totals.working_days,
        "days_present": totals.days_present,
        "attendance_rate": totals.attendance_rate,
        "total_hours": totals.total_hours,
        "average_hours": totals.average_hours,
        "late_count": totals.late_count,
        "expected_hours": totals.expected_hours,
        "overtime_hours": totals.overtime_hours,
        "absent_days": totals.absent_days,
        "leave_days": totals.leave_days,
    }
