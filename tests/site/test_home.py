"""The home page says what to do next for each role, and shows administrators the system's state."""

import pytest
from django.contrib.auth.models import User

from people.models import FaceImage
from recognition.services import worker_heartbeat_record
from tests.factories import DepartmentFactory, KioskFactory, PersonFactory, UserFactory


def home(client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def step_line(text: str, what: str) -> str:
    """Return the checklist <li> that holds `what`."""
    start = text.rindex("<li", 0, text.index(what))
    return text[start : text.index("</li>", start)]


@pytest.mark.django_db
def test_first_run_checklist_ticks_each_step_once_done(client):
    """On a new install every step is to do; each is ticked as its thing appears, with its link."""
    admin = User.objects.create_superuser("root", password="pw-for-tests")
    text = home(client, admin)
    assert "Getting started" in text and "(5 to do)" in text
    assert 'class="todo"' in step_line(text, "Add the departments")
    assert 'href="/admin/people/department/add/"' in step_line(text, "Add the departments")

    DepartmentFactory()
    KioskFactory()
    UserFactory(groups=["Managers"])
    text = home(client, admin)
    assert 'class="done"' in step_line(text, "Add the departments")
    assert 'class="done"' in step_line(text, "Register a kiosk")
    assert 'class="done"' in step_line(text, "Give somebody the Managers role")
    assert 'class="todo"' in step_line(text, "Enrol the first person")
    assert "(2 to do)" in text


@pytest.mark.django_db
def test_admin_sees_workers_and_recogniser_state(client):
    """System status says when no worker runs and no recogniser is active, then that a worker is up."""
    admin = User.objects.create_superuser("root", password="pw-for-tests")
    text = home(client, admin)
    assert "System status" in text
    assert "none reported in the last" in text
    assert "no version active yet" in text

    worker_heartbeat_record(hostname="recognition@test", queues=["recognition"], pid=1, engine_ready=True)
    text = home(client, admin)
    assert "1 running: recognition@test" in text


@pytest.mark.django_db
def test_hr_sees_what_waits_for_them_with_links(client):
    """HR's home lists people without photos, duplicates and rejected photos, each linking to the list."""
    PersonFactory(full_name="No Photos")
    dup = PersonFactory()
    dup.possible_duplicate_of = PersonFactory()
    dup.save()
    rejected = PersonFactory()
    FaceImage.objects.create(person=rejected, status=FaceImage.Status.REJECTED, image="faces/x.jpg")
    text = home(client, UserFactory(groups=["HR"]))
    assert "Waiting for you" in text
    assert "1</strong> possible duplicate to check" in text
    assert "?possible_duplicate_of__isnull=False" in text
    assert "?enrolment=not_enrolled" in text
    assert "3</strong> people without photos" in text  # plural, and the singular next:
    assert "1</strong> person who needs more photos" in text
    assert "1</strong> photo rejected in the last 7 days" in text
    assert "System status" not in text and "Getting started" not in text


@pytest.mark.django_db
def test_manager_sees_reports_and_no_admin_panels(client):
    """A manager's home leads to the reports and shows neither HR's list nor the system status."""
    text = home(client, UserFactory(groups=["Managers"]))
    assert "You read the attendance reports" in text
    assert 'href="/reports/today/"' in text
    assert "Waiting for you" not in text and "System status" not in text


@pytest.mark.django_db
def test_anonymous_visitor_is_told_what_the_site_is_and_where_to_log_in(client):
    """A visitor who is not logged in reads one sentence about the site and a link to log in."""
    text = client.get("/").content.decode()
    assert "Employees check in and out at a kiosk" in text
    assert 'href="/login/"' in text
