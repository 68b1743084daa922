"""Report pages and their CSV/XLSX downloads: every report runs the same steps, from its spec.

Validate the filters (the spec's form), read the rows through the user's ReportScope, sort them by
one of the spec's sort names, then render the page or write the download. Every view checks login
(the site's login page) and the `attendance.view_reports` permission (403 otherwise), so a manager
limited to some departments never sees anybody else, in pages and downloads alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from attendance.models import AttendanceEvent
from attendance.reports import exports
from attendance.reports.forms import RangeForm, form_errors_text
from attendance.reports.selectors import (
    ReportScope,
    attendance_timesheet_rows,
    report_scope_for,
    timesheet_totals,
)
from attendance.reports.specs import ReportSpec
from attendance.services import (
    correction_request_create,
    correction_request_decide,
    leave_request_create,
    wrong_time_request_create,
)
from people.models import CorrectionRequest, Leave

REPORT_PERMISSION = "attendance.view_reports"
LOGIN_URL = "reports:login"


def reports_view(view: Callable) -> Callable:
    """Send anonymous users to the login page and refuse (403) users without the reports permission."""
    guarded = permission_required(REPORT_PERMISSION, raise_exception=True)(view)
    return login_required(guarded, login_url=LOGIN_URL)


def home(request: HttpRequest) -> HttpResponse:
    """The site's front page: links to what the user may open."""
    can_report = request.user.is_authenticated and request.user.has_perm(REPORT_PERMISSION)
    return render(request, "home.html", {"can_report": can_report})


def header(columns, sort: str) -> list[dict]:
    """Return the table's column headers with the sort each link asks for and the current direction."""
    result = []
    for key, label in columns:
        direction = "asc" if sort == key else "desc" if sort == f"-{key}" else ""
        result.append(
            {"key": key, "label": label, "sort": f"-{key}" if sort == key else key, "dir": direction}
        )
    return result


@reports_view
def report_view(request: HttpRequest, spec: ReportSpec, fmt: str | None = None) -> HttpResponse:
    """A report's page, or with `fmt` ("csv", "xlsx") its download, for the filters in the query string."""
    scope = report_scope_for(user=request.user)
    form = spec.make_form(request.GET, scope=scope)
    if not form.is_valid():
        # The page with the form's messages and no rows, as a 400 (downloads too: a browser shows it).
        return render(request, spec.template, {"form": form, "invalid": True}, status=400)
    data = form.cleaned_data
    result = spec.read(data, scope)
    result.rows = spec.sort(result.rows, data["sort"])
    filename = spec.filename(result, data)
    if fmt == "csv":
        sheet = spec.csv_sheet(request.GET.get("level", ""))
        return exports.csv_response(
            sheet.records(result), columns=sheet.columns, filename=filename + sheet.filename_suffix
        )
    if fmt == "xlsx":
        sheets = [(sheet.title, sheet.columns, sheet.records(result)) for sheet in spec.sheets]
        return exports.xlsx_response(sheets, filename=filename)
    page = Paginator(result.rows, settings.REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "header": header(spec.header, data["sort"])}
    return render(request, spec.template, {**context, **spec.page_context(result, data)})


@login_required(login_url=LOGIN_URL)
def my_timesheet(request: HttpRequest) -> HttpResponse:
    """The logged-in employee's own timesheet (this month so far, or ?start=&end=); nobody else's."""
    person = getattr(request.user, "person", None)
    form = RangeForm(request.GET, scope=ReportScope(), sort_keys=[])
    if person is None or not form.is_valid():
        status = 200 if person is None else 400
        return render(request, "reports/my_timesheet.html", {"form": form, "person": person}, status=status)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    rows = attendance_timesheet_rows(start=start, end=end, person=person)
    context = {
        "form": form,
        "person": person,
        "rows": rows,
        "totals": timesheet_totals(rows, start=start, end=end),
        "request_form": CorrectionRequestForm(),
        "wrong_time_form": WrongTimeRequestForm(person=person, start=start, end=end),
        "leave_form": LeaveRequestForm(),
        "requests": person.correction_requests.all()[:20],
    }
    return render(request, "reports/my_timesheet.html", context)


class CorrectionRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=CorrectionRequest.Kind.choices, label="What was missed")
    date = forms.DateField(input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(input_formats=["%H:%M"], widget=forms.TimeInput(attrs={"type": "time"}))
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class WrongTimeRequestForm(forms.Form):
    """One of the employee's own events (of the days shown) and the time it should have."""

    event = forms.ModelChoiceField(queryset=AttendanceEvent.objects.none(), label="Which event")
    right_time = forms.DateTimeField(
        label="The right time",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data=None, *, person, start: dt.date | None = None, end: dt.date | None = None):
        super().__init__(data, prefix="wt")
        events = AttendanceEvent.objects.filter(person=person).order_by("-timestamp")
        if start and end:
            events = events.filter(workday__range=(start, end))
        self.fields["event"].queryset = events
        self.fields["event"].label_from_instance = lambda e: (
            f"{e.get_kind_display()} {timezone.localtime(e.timestamp):%a %d %b %Y %H:%M}"
        )


class LeaveRequestForm(forms.Form):
    leave_kind = forms.ChoiceField(choices=Leave.Kind.choices, label="Kind of leave")
    start = forms.DateField(
        input_formats=["%Y-%m-%d"], label="First day", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        input_formats=["%Y-%m-%d"], label="Last day", widget=forms.DateInput(attrs={"type": "date"})
    )
    half_day = forms.BooleanField(required=False, label="Half a day only")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data=None):
        super().__init__(data, prefix="leave")


@require_POST
@login_required(login_url=LOGIN_URL)
def my_request_create(request: HttpRequest, kind: str = "missed") -> HttpResponse:
    """An employee asks for a fix: a missed entry or exit, a wrong time, or leave; their manager or HR
    decides. `kind` picks the form ("missed", "wrong-time", "leave")."""
    person = getattr(request.user, "person", None)
    if person is None:
        raise Http404("Your account is not linked to an employee record.")
    tz = ZoneInfo(settings.TIME_ZONE)
    if kind == "wrong-time":
        form = WrongTimeRequestForm(request.POST, person=person)
    elif kind == "leave":
        form = LeaveRequestForm(request.POST)
    else:
        form = CorrectionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The request was not sent: {form_errors_text(form)}")
        return redirect("reports:my-timesheet")
    data = form.cleaned_data
    try:
        if kind == "wrong-time":
            wrong_time_request_create(
                person=person,
                event=data["event"],
                moment=data["right_time"].astimezone(tz),
                reason=data["reason"],
            )
        elif kind == "leave":
            leave_request_create(
                person=person,
                leave_kind=data["leave_kind"],
                start=data["start"],
                end=data["end"],
                half_day=data["half_day"],
                reason=data["reason"],
            )
        else:
            moment = dt.datetime.combine(data["date"], data["time"], tzinfo=tz)
            correction_request_create(person=person, kind=data["kind"], moment=moment, reason=data["reason"])
    except ValueError as error:
        messages.error(request, f"The request was not sent: {error}")
    else:
        messages.success(request, "Request sent: your manager or HR will decide.")
    return redirect("reports:my-timesheet")


@reports_view
def correction_requests(request: HttpRequest) -> HttpResponse:
    """The pending requests of the people this user may report on (managers, HR)."""
    scope = report_scope_for(user=request.user)
    pending = (
        CorrectionRequest.objects.filter(
            status=CorrectionRequest.Status.PENDING, person__in=scope.people().values("pk")
        )
        .select_related("person", "person__department")
        .order_by("created_at")
    )
    return render(request, "reports/requests.html", {"pending": pending})


@require_POST
@reports_view
def correction_request_decision(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a request (POST decision=approve|reject), only for people in the user's scope."""
    scope = report_scope_for(user=request.user)
    item = get_object_or_404(CorrectionRequest, pk=pk, person__in=scope.people().values("pk"))
    approve = request.POST.get("decision") == "approve"
    note = request.POST.get("note", "")
    try:
        item = correction_request_decide(request=item, approve=approve, by=request.user, note=note)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{item.get_status_display()}: {item}.")
    return redirect("reports:requests")
