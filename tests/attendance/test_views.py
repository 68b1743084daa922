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


@pytest.mark.parametrize("days", ["abc", "0", "-5", "100000", "1.5"])
def test_a_bad_number_of_days_is_a_400_that_says_what_is_allowed(client, days):
    """?days= that is not a whole number of days in range is refused with a message, not a 500."""
    ana = PersonFactory()
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    response = client.get(f"/attendance/people/{ana.pk}/", {"days": days})
    assert response.status_code == 400
    assert "days must be a whole number from 1 to" in response.content.decode()
    assert client.get(f"/attendance/people/{ana.pk}/", {"days": "30"}).status_code == 200
