"""Read-only JSON reports for payroll integration, under /api/v1/reports/.

The filters are the report pages' forms, the rows are the exports' records (same column names),
and access is the pages' access: a session or HTTP Basic login with `attendance.view_reports`,
limited to the user's departments. Kiosk tokens are not accepted here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance import exports
from attendance.report_forms import DayReportForm, ReportForm, SummaryForm, TimesheetForm, TodayForm
from attendance.reports import PERSON_DAY_KEYS, REPORT_PERMISSION, SUMMARY_KEYS, TODAY_KEYS, sort_rows
from attendance.selectors import (
    STATE_LABELS,
    STATUS_LABELS,
    attendance_day_rows,
    attendance_period_summary,
    attendance_timesheet_rows,
    attendance_today,
    report_scope_for,
    timesheet_totals,
    today_rows_in_state,
)


class CanViewReports(BasePermission):
    message = "You do not have permission to view attendance reports."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(REPORT_PERMISSION)


class ReportApi(APIView):
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    permission_classes = [IsAuthenticated, CanViewReports]

    def bad_request(self, form: ReportForm) -> Response:
        errors = {("non_field_errors" if k == "__all__" else k): list(v) for k, v in form.errors.items()}
        return Response({"detail": form.error_text(), "errors": errors}, status=400)

    def paginate(self, request: Request, rows: list, record) -> dict | Response:
        """Return {count, page, num_pages, page_size, results} or a 400 for a bad page or page_size."""
        try:
            size = int(request.query_params.get("page_size", settings.REPORT_PAGE_SIZE))
            number = int(request.query_params.get("page", 1))
        except ValueError:
            return Response({"detail": "page and page_size must be whole numbers."}, status=400)
        if not 1 <= size <= settings.REPORT_API_MAX_PAGE_SIZE:
            return Response(
                {"detail": f"page_size must be between 1 and {settings.REPORT_API_MAX_PAGE_SIZE}."},
                status=400,
            )
        paginator = Paginator(rows, size)
        if not 1 <= number <= paginator.num_pages:
            return Response({"detail": f"page must be between 1 and {paginator.num_pages}."}, status=400)
        page = paginator.page(number)
        return {
            "count": paginator.count,
            "page": number,
            "num_pages": paginator.num_pages,
            "page_size": size,
            "results": [record(row) for row in page.object_list],
        }


# ---------------------------------------------------------------------------------------------
# Output serializers (they document the records in the OpenAPI schema and format them).
# ---------------------------------------------------------------------------------------------


def hours_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=8, decimal_places=2, coerce_to_string=False, **kwargs)


class DayRowSerializer(serializers.Serializer):
    workday = serializers.DateField()
    employee_id = serializers.CharField()
    full_name = serializers.CharField()
    department = serializers.CharField()
    shift_start = serializers.TimeField(format="%H:%M")
    first_entry = serializers.DateTimeField(allow_null=True)
    last_exit = serializers.DateTimeField(allow_null=True)
    hours_worked = hours_field(help_text="Sum of entry-to-exit intervals; open intervals are not counted.")
    late = serializers.BooleanField()
    late_minutes = serializers.IntegerField(help_text="Minutes after shift start when late, else 0.")
    missing_exit = serializers.BooleanField()
    status = serializers.ChoiceField(choices=list(STATUS_LABELS))


class TimesheetRowSerializer(DayRowSerializer):
    shift_start = None
    first_entry = None
    last_exit = None
    entries = serializers.ListField(child=serializers.DateTimeField())
    exits = serializers.ListField(child=serializers.DateTimeField())


class TodayRowSerializer(serializers.Serializer):
    workday = serializers.DateField()
    employee_id = serializers.CharField()
    full_name = serializers.CharField()
    department = serializers.CharField()
    shift_start = serializers.TimeField(format="%H:%M")
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


def params(*names: str) -> list[OpenApiParameter]:
    known = {
        "day": (OpenApiTypes.DATE, "Workday (YYYY-MM-DD); default the current workday."),
        "start": (OpenApiTypes.DATE, "First workday (YYYY-MM-DD); default the first of this month."),
        "end": (OpenApiTypes.DATE, "Last workday, included; default the current workday."),
        "department": (OpenApiTypes.INT, "Department id."),
        "person": (OpenApiTypes.STR, "Employee ID: one person's timesheet."),
        "q": (OpenApiTypes.STR, "Search in names and employee IDs."),
        "state": (OpenApiTypes.STR, "in, out, not_in or late."),
        "sort": (OpenApiTypes.STR, "Column to sort by, '-' first for descending."),
        "page": (OpenApiTypes.INT, "Page number, from 1."),
        "page_size": (OpenApiTypes.INT, f"Rows per page (default {settings.REPORT_PAGE_SIZE})."),
    }
    return [OpenApiParameter(name, known[name][0], description=known[name][1]) for name in names]


def record_of(serializer: type[serializers.Serializer], to_record):
    return lambda row: serializer(to_record(row)).data


# ---------------------------------------------------------------------------------------------
# Endpoints.
# ---------------------------------------------------------------------------------------------


class TodayReportApi(ReportApi):
    @extend_schema(
        operation_id="reports_today",
        summary="Who is in, out, not yet in and late on the current workday",
        parameters=params("department", "q", "state", "sort", "page", "page_size"),
        responses={
            200: page_serializer(
                "TodayReport",
                TodayRowSerializer,
                workday=serializers.DateField(),
                generated_at=serializers.DateTimeField(),
                counts=serializers.DictField(child=serializers.IntegerField()),
                arrivals_by_hour=serializers.ListField(child=serializers.DictField()),
            ),
            400: ERROR,
        },
    )
    def get(self, request: Request) -> Response:
        scope = report_scope_for(user=request.user)
        form = TodayForm(request.query_params, scope=scope)
        if not form.is_valid():
            return self.bad_request(form)
        data = form.cleaned_data
        report = attendance_today(scope=scope, department=data["department"], search=data["q"])
        rows = today_rows_in_state(report.rows, data["state"])
        body = self.paginate(
            request,
            sort_rows(rows, data["sort"], TODAY_KEYS),
            record_of(TodayRowSerializer, exports.today_record),
        )
        if isinstance(body, Response):
            return body
        return Response(
            {
                "workday": report.workday,
                "generated_at": report.generated_at,
                "counts": report.counts,
                "arrivals_by_hour": report.arrivals_by_hour,
                **body,
            }
        )


class DayReportApi(ReportApi):
    @extend_schema(
        operation_id="reports_day",
        summary="Per person for one workday: first entry, last exit, hours, lateness, status",
        parameters=params("day", "department", "q", "sort", "page", "page_size"),
        responses={
            200: page_serializer("DayReport", DayRowSerializer, day=serializers.DateField()),
            400: ERROR,
        },
    )
    def get(self, request: Request) -> Response:
        scope = report_scope_for(user=request.user)
        form = DayReportForm(request.query_params, scope=scope)
        if not form.is_valid():
            return self.bad_request(form)
        data = form.cleaned_data
        rows = attendance_day_rows(
            day=data["day"], scope=scope, department=data["department"], search=data["q"]
        )
        body = self.paginate(
            request,
            sort_rows(rows, data["sort"], PERSON_DAY_KEYS),
            record_of(DayRowSerializer, exports.day_record),
        )
        if isinstance(body, Response):
            return body
        return Response({"day": data["day"], **body})


class TimesheetApi(ReportApi):
    @extend_schema(
        operation_id="reports_timesheet",
        summary="A row per person per workday over a date range, with totals",
        parameters=params("start", "end", "person", "department", "q", "sort", "page", "page_size"),
        responses={
            200: page_serializer(
                "Timesheet",
                TimesheetRowSerializer,
                start=serializers.DateField(),
                end=serializers.DateField(),
                totals=TotalsSerializer(),
            ),
            400: ERROR,
        },
    )
    def get(self, request: Request) -> Response:
        scope = report_scope_for(user=request.user)
        form = TimesheetForm(request.query_params, scope=scope)
        if not form.is_valid():
            return self.bad_request(form)
        data = form.cleaned_data
        rows = attendance_timesheet_rows(
            start=data["start"],
            end=data["end"],
            scope=scope,
            department=data["department"],
            search=data["q"],
            person=data["person"],
        )
        body = self.paginate(
            request,
            sort_rows(rows, data["sort"], PERSON_DAY_KEYS),
            record_of(TimesheetRowSerializer, exports.timesheet_record),
        )
        if isinstance(body, Response):
            return body
        totals = timesheet_totals(rows, start=data["start"], end=data["end"])
        return Response(
            {
                "start": data["start"],
                "end": data["end"],
                "totals": TotalsSerializer(_totals_record(totals)).data,
                **body,
            }
        )


def _totals_record(totals) -> dict:
    return {
        "working_days": totals.working_days,
        "days_present": totals.days_present,
        "attendance_rate": totals.attendance_rate,
        "total_hours": totals.total_hours,
        "average_hours": totals.average_hours,
        "late_count": totals.late_count,
    }


class DepartmentSummaryApi(ReportApi):
    @extend_schema(
        operation_id="reports_departments",
        summary="Attendance rate, average hours and late count per department and per person",
        parameters=params("start", "end", "department", "q", "sort", "page", "page_size"),
        responses={
            200: page_serializer(
                "DepartmentSummary",
                SummaryPersonSerializer,
                start=serializers.DateField(),
                end=serializers.DateField(),
                departments=SummaryDepartmentSerializer(many=True),
            ),
            400: ERROR,
        },
    )
    def get(self, request: Request) -> Response:
        scope = report_scope_for(user=request.user)
        form = SummaryForm(request.query_params, scope=scope)
        if not form.is_valid():
            return self.bad_request(form)
        data = form.cleaned_data
        people, depts = attendance_period_summary(
            start=data["start"], end=data["end"], scope=scope, department=data["department"], search=data["q"]
        )
        body = self.paginate(
            request,
            sort_rows(people, data["sort"], SUMMARY_KEYS),
            record_of(SummaryPersonSerializer, exports.summary_person_record),
        )
        if isinstance(body, Response):
            return body
        return Response(
            {
                "start": data["start"],
                "end": data["end"],
                "departments": [
                    SummaryDepartmentSerializer(exports.summary_department_record(d)).data for d in depts
                ],
                **body,
            }
        )
