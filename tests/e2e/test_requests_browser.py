"""A missed exit end to end in a real Chromium: the employee asks, the manager approves, the day changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.e2e.test_reports_browser import chromium_page
from tests.factories import PersonFactory, UserFactory
from tests.support.reports import workday_events

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_an_employee_requests_a_missed_exit_and_the_manager_approves_it(live_server, settings):
    """Ada came in at 09:06 on Mon 3 March 2025 and forgot to check out. She asks for 17:30 on her
    timesheet page; the manager approves on the Requests page; her day becomes 8:24, present."""
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    employee = UserFactory(username="ada-browser")
    manager = UserFactory(username="manager-browser", groups=["Managers"])
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", user=employee)
    workday_events(ada, dt.date(2025, 3, 3), ("09:06", None))
    mine = "/me/timesheet/?start=2025-03-03&end=2025-03-03"
    employee_cookie, manager_cookie = cookie_for(employee), cookie_for(manager)

    with chromium_page(live_server, employee_cookie) as (page, errors):
        page.goto(live_server.url + mine)
        assert "missing exit" in page.inner_text("#report")
        page.select_option("#id_kind", "out")
        page.fill("#id_date", "2025-03-03")
        page.fill("#id_time", "17:30")
        page.fill("#id_reason", "Forgot to check out")
        page.click("#request-form button[type=submit]")
        page.wait_for_url("**/me/timesheet/")
        assert "Request sent" in page.inner_text("body")
        assert errors == []

    with chromium_page(live_server, manager_cookie) as (page, errors):
        page.goto(live_server.url + "/reports/requests/")
        assert "Forgot to check out" in page.inner_text("#report")
        page.click("button[value=approve]")
        page.wait_for_url("**/reports/requests/")
        assert "Nothing waiting" in page.inner_text("#report")
        assert errors == []

    with chromium_page(live_server, employee_cookie) as (page, errors):
        page.goto(live_server.url + mine)
        assert page.inner_text("#total-hours") == "8:24"
        assert "Present" in page.inner_text("#report")
        assert "Approved" in page.inner_text("#my-requests")
        assert errors == []


def test_an_employee_asks_to_move_a_wrong_entry_and_the_manager_approves_it(live_server, settings):
    """Ada's entry on Mon 3 March 2025 was recorded at 09:36 (exit 17:30: 7:54). She picks that entry,
    gives 09:06 and a reason; the manager approves with a note; her day becomes 8:24 and her request
    shows the note."""
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    employee = UserFactory(username="ada-wrong-time")
    manager = UserFactory(username="manager-wrong-time", groups=["Managers"])
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", user=employee)
    entry, _ = workday_events(ada, dt.date(2025, 3, 3), ("09:36", "17:30"))
    mine = "/me/timesheet/?start=2025-03-03&end=2025-03-03"
    employee_cookie, manager_cookie = cookie_for(employee), cookie_for(manager)

    with chromium_page(live_server, employee_cookie) as (page, errors):
        page.goto(live_server.url + mine)
        assert page.inner_text("#total-hours") == "7:54"
        page.select_option("#id_wt-event", str(entry.pk))
        page.fill("#id_wt-right_time", "2025-03-03T09:06")
        page.fill("#id_wt-reason", "The kiosk queue was long")
        page.click("#wrong-time-form button[type=submit]")
        page.wait_for_url("**/me/timesheet/")
        assert "Request sent" in page.inner_text("body")
        assert errors == []

    with chromium_page(live_server, manager_cookie) as (page, errors):
        page.goto(live_server.url + "/reports/requests/")
        assert "09:36 should be Mon 03 Mar 09:06" in page.inner_text("#report")
        page.fill("input[name=note]", "Seen on the camera")
        page.click("button[value=approve]")
        page.wait_for_url("**/reports/requests/")
        assert "Nothing waiting" in page.inner_text("#report")
        assert errors == []

    with chromium_page(live_server, employee_cookie) as (page, errors):
        page.goto(live_server.url + mine)
        assert page.inner_text("#total-hours") == "8:24"
        assert "Seen on the camera" in page.inner_text("#my-requests")
        assert errors == []
