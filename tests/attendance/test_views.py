"""HR's page of one person's attendance history."""

import pytest

from tests.factories import AttendanceEventFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_person_view_shows_details_and_history_to_hr_only(client):
    """HR sees a person's details and events by workday; a manager gets 403; anonymous must log in."""
    ana = PersonFactory(full_name="Ana Lima", employee_id="E-77")
    AttendanceEventFactory(person=ana, kind="in")
    url = f"/attendance/people/{ana.pk}/"
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(groups=["Managers"]))
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    html = client.get(url).content.decode()
    assert "Ana Lima" in html and "E-77" in html and "Entry" in html
