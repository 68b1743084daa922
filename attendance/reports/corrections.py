"""Corrections on the site: a manager fixes a person's events of one day, HR approves and locks pay
periods. The writes are attendance.services' (audited, refused inside a locked period)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from attendance.clock import current_workday
from attendance.models import AttendanceEvent, PayPeriod
from attendance.reports.forms import DATE_ERRORS, DateInput, form_errors_text
from attendance.reports.selectors import report_scope_for
from attendance.services import (
    attendance_event_add,
    attendance_event_change,
    attendance_event_delete,
    pay_period_create,
    pay_period_lock,
    pay_period_locked_on,
    pay_period_reopen,
)

LOGIN_URL = "reports:login"
CORRECT_PERMISSION = "attendance.correct_events"


def guarded(*permissions: str):
    """Send anonymous users to the login page, refuse (403) those without all `permissions`."""

    def wrap(view):
        return login_required(
            permission_required(list(permissions), raise_exception=True)(view), login_url=LOGIN_URL
        )

    return wrap


class AddEventForm(forms.Form):
    kind = forms.ChoiceField(choices=AttendanceEvent.Kind.choices)
    moment = forms.DateTimeField(
        label="When",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(max_length=500)


class MoveEventForm(forms.Form):
    event = forms.IntegerField(widget=forms.HiddenInput)
    moment = forms.DateTimeField(
        label="New time",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(max_length=500)


class DeleteEventForm(forms.Form):
    event = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500)


@guarded("attendance.view_reports", CORRECT_PERMISSION)
def person_events(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's events of one workday (?day=), with forms to add, move or delete one, each with a
    reason. Only people in the user's departments (404 otherwise), never the user's own record."""
    scope = report_scope_for(user=request.user)
    person = get_object_or_404(scope.people().select_related("department"), pk=pk)
    day_text = request.GET.get("day") or request.POST.get("day") or current_workday().isoformat()
    try:
        day = dt.date.fromisoformat(day_text)
    except ValueError:
        return HttpResponse(
            f"day must be a date as YYYY-MM-DD, not {day_text!r}.", status=400, content_type="text/plain"
        )
    own = person.user_id == request.user.pk
    if request.method == "POST":
        if own:
            messages.error(request, "You cannot correct your own attendance: ask another manager or HR.")
        else:
            _correct(request, person)
        return redirect(reverse("reports:person-events", args=[person.pk]) + f"?day={day.isoformat()}")
    tz = ZoneInfo(settings.TIME_ZONE)
    events = AttendanceEvent.objects.filter(person=person, workday=day).order_by("timestamp")
    default_moment = dt.datetime.combine(day, person.shift_end or dt.time(17, 0), tzinfo=tz)
    context = {
        "person": person,
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "events": events,
        "locked": pay_period_locked_on(day),
        "own": own,
        "add_form": AddEventForm(initial={"moment": default_moment, "kind": AttendanceEvent.Kind.OUT}),
    }
    return render(request, "reports/person_events.html", context)


def _correct(request: HttpRequest, person) -> None:
    """Carry out the posted add, move or delete on the person's events; say what happened."""
    action = request.POST.get("action")
    tz = ZoneInfo(settings.TIME_ZONE)
    form_class = {"add": AddEventForm, "move": MoveEventForm, "delete": DeleteEventForm}.get(action)
    if form_class is None:
        messages.error(request, "Unknown action: choose add, move or delete.")
        return
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed: {form_errors_text(form)}")
        return
    data = form.cleaned_data
    try:
        if action == "add":
            attendance_event_add(
                person=person,
                kind=data["kind"],
                timestamp=data["moment"].astimezone(tz),
                reason=data["reason"],
                by=request.user,
            )
            messages.success(request, "Event added.")
            return
        event = AttendanceEvent.objects.filter(pk=data["event"], person=person).first()
        if event is None:
            messages.error(request, "That event is gone (deleted meanwhile?): nothing changed.")
            return
        if action == "move":
            attendance_event_change(
                event=event,
                person=person,
                kind=event.kind,
                timestamp=data["moment"].astimezone(tz),
                reason=data["reason"],
                by=request.user,
            )
            messages.success(request, "Event moved.")
        else:
            attendance_event_delete(event=event, reason=data["reason"], by=request.user)
            messages.success(request, "Event deleted.")
    except ValueError as error:
        messages.error(request, f"Nothing changed: {error}")


class PayPeriodForm(forms.Form):
    start = forms.DateField(input_formats=["%Y-%m-%d"], widget=DateInput(), error_messages=DATE_ERRORS)
    end = forms.DateField(input_formats=["%Y-%m-%d"], widget=DateInput(), error_messages=DATE_ERRORS)


def _next_period(last: PayPeriod | None) -> dict[str, dt.date]:
    """Suggest the period after the last one, or last month."""
    if last is not None:
        start = last.end + dt.timedelta(days=1)
    else:
        start = (current_workday().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return {"start": start, "end": following - dt.timedelta(days=1)}


@guarded("attendance.view_payperiod")
def pay_periods(request: HttpRequest) -> HttpResponse:
    """The pay periods, newest first, with who locked or reopened them; add one (POST start, end)."""
    if request.method == "POST":
        if not request.user.has_perm("attendance.add_payperiod"):
            messages.error(request, "You may not add pay periods.")
            return redirect("reports:pay-periods")
        form = PayPeriodForm(request.POST)
        if form.is_valid():
            try:
                period = pay_period_create(
                    start=form.cleaned_data["start"], end=form.cleaned_data["end"], by=request.user
                )
            except ValueError as error:
                messages.error(request, f"Not added: {error}")
            else:
                messages.success(request, f"Added the {period}.")
        else:
            messages.error(request, f"Not added: {form_errors_text(form)}")
        return redirect("reports:pay-periods")
    periods = PayPeriod.objects.select_related("locked_by").prefetch_related("log__by")[:36]
    context = {
        "periods": periods,
        "form": PayPeriodForm(initial=_next_period(PayPeriod.objects.order_by("-end").first())),
    }
    return render(request, "reports/pay_periods.html", context)


@require_POST
@guarded("attendance.view_payperiod", "attendance.change_payperiod")
def pay_period_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve and lock (action=lock) or reopen (action=reopen, with a reason) a pay period."""
    period = get_object_or_404(PayPeriod, pk=pk)
    try:
        if request.POST.get("action") == "lock":
            period = pay_period_lock(period=period, by=request.user)
            messages.success(request, f"Approved and locked the {period}.")
        elif request.POST.get("action") == "reopen":
            period = pay_period_reopen(period=period, reason=request.POST.get("reason", ""), by=request.user)
            messages.success(request, f"Reopened the {period}.")
        else:
            messages.error(request, "Unknown action: lock or reopen.")
    except ValueError as error:
        messages.error(request, f"Nothing changed: {error}")
    return redirect("reports:pay-periods")
