"""Read-only JSON reports for payroll integration, under /api/v1/reports/: one endpoint per report spec.

The filters are the report pages' forms, the rows are the downloads' records (same column names), and
access is the pages' access: a session or HTTP Basic login with `attendance.view_reports`, limited to
the user's departments. Kiosk tokens are not accepted here.
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

from attendance.reports.forms import ReportForm
from attendance.reports.selectors import report_scope_for
from attendance.reports.serializers import page_serializer
from attendance.reports.specs import ReportSpec
from attendance.reports.views import REPORT_PERMISSION

ERROR = inline_serializer(
    name="ReportError",
    fields={"detail": serializers.CharField(), "errors": serializers.DictField(required=False)},
)


class CanViewReports(BasePermission):
    message = "You do not have permission to view attendance reports."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(REPORT_PERMISSION)


def params(*names: str) -> list[OpenApiParameter]:
    known = {
        "day": (OpenApiTypes.DATE, "Workday (YYYY-MM-DD); default the current workday."),
        "start": (OpenApiTypes.DATE, "First workday (YYYY-MM-DD); default the first of this month."),
        "end": (OpenApiTypes.DATE, "Last workday, included; default the current workday."),
        "department": (OpenApiTypes.INT, "Department id."),
        "person": (OpenApiTypes.STR, "Employee ID: one person's timesheet."),
        "q": (OpenApiTypes.STR, "Search in names and employee IDs."),
        "state": (OpenApiTypes.STR, "in, out, not_in or late."),
        "punch": (OpenApiTypes.STR, "pin: only days with an event recorded by PIN instead of a face."),
        "sort": (OpenApiTypes.STR, "Column to sort by, '-' first for descending."),
        "page": (OpenApiTypes.INT, "Page number, from 1."),
        "page_size": (OpenApiTypes.INT, f"Rows per page (default {settings.REPORT_PAGE_SIZE})."),
    }
    return [OpenApiParameter(name, known[name][0], description=known[name][1]) for name in names]


class ReportApi(APIView):
    """Answer one report as JSON: the spec's fields around one page of its records."""

    authentication_classes = [SessionAuthentication, BasicAuthentication]
    permission_classes = [IsAuthenticated, CanViewReports]
    spec: ReportSpec

    def get(self, request: Request) -> Response:
        spec = self.spec
        scope = report_scope_for(user=request.user)
        form = spec.make_form(request.query_params, scope=scope)
        if not form.is_valid():
            return self.bad_request(form)
        data = form.cleaned_data
        result = spec.read(data, scope)
        rows = spec.sort(result.rows, data["sort"])
        record = spec.csv_sheet("").record  # the main rows' record, as in the default download
        body = self.paginate(request, rows, lambda row: spec.api_row(record(row)).data)
        if isinstance(body, Response):
            return body
        return Response({**spec.api_body(result, data), **body})

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


def report_api(spec: ReportSpec) -> type[ReportApi]:
    """Return the API view of a report, documented from its spec."""

    @extend_schema(
        operation_id=f"reports_{spec.name}",
        summary=spec.summary,
        parameters=params(*spec.api_params),
        responses={200: page_serializer(spec.api_name, spec.api_row, **spec.api_fields), 400: ERROR},
    )
    def get(self, request: Request) -> Response:  # its own function: the schema annotates it
        return ReportApi.get(self, request)

    return type(f"{spec.api_name}Api", (ReportApi,), {"spec": spec, "get": get, "__doc__": spec.summary})
