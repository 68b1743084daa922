"""The HR and Managers roles get exactly the permissions listed for them."""

import pytest
from django.contrib.auth.models import Group

from attendance_site.roles import ROLE_PERMISSIONS, apply_role_permissions
from tests.factories import UserFactory


def codenames(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_each_role_has_exactly_its_listed_permissions(role):
    """After migrate, every listed permission exists and the group holds those and no others."""
    assert codenames(Group.objects.get(name=role)) == set(ROLE_PERMISSIONS[role])


@pytest.mark.django_db
def test_reapplying_roles_removes_a_permission_granted_by_hand():
    """A permission added to a role by hand is taken away again on the next migrate."""
    from django.contrib.auth.models import Permission

    managers = Group.objects.get(name="Managers")
    managers.permissions.add(Permission.objects.get(codename="delete_person"))
    apply_role_permissions()
    assert "people.delete_person" not in codenames(managers)


@pytest.mark.django_db
def test_managers_cannot_see_face_photos():
    """Biometric data is for HR: the Managers role holds no permission on face photos."""
    assert not any("faceimage" in name for name in codenames(Group.objects.get(name="Managers")))


def hr_group() -> Group:
    return Group.objects.get(name="HR")


@pytest.mark.django_db
def test_new_hr_user_added_to_the_group_logs_in_to_the_admin_and_reaches_enrolment(client):
    """Adding a fresh account to HR is all it takes: the admin login accepts it, enrolment opens."""
    from django.contrib.auth.models import User

    user = User.objects.create_user("new-hr", password="pw-for-tests")
    hr_group().user_set.add(user)  # as the group's page or a script would do it

    response = client.post(
        "/admin/login/?next=/admin/people/person/add/",
        {"username": "new-hr", "password": "pw-for-tests", "next": "/admin/people/person/add/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/admin/people/person/add/"
    assert response.status_code == 200
    assert b"Consent" in response.content


@pytest.mark.django_db
def test_joining_hr_from_the_user_side_sets_staff_and_the_object_knows():
    """user.groups.add(HR) sets the staff flag, also on the object in hand, so a later save keeps it."""
    user = UserFactory()
    user.groups.add(hr_group())
    assert user.is_staff
    user.first_name = "Ada"
    user.save()
    user.refresh_from_db()
    assert user.is_staff


@pytest.mark.django_db
def test_leaving_the_last_admin_role_clears_staff_but_not_for_a_superuser():
    """Removing HR takes the staff flag away again, from either side; a superuser keeps it."""
    from django.contrib.auth.models import User

    plain = UserFactory(groups=["HR"])
    other = UserFactory(groups=["HR"])
    boss = User.objects.create_superuser("boss", password="pw-for-tests")
    boss.groups.add(hr_group())

    plain.groups.remove(hr_group())
    hr_group().user_set.remove(boss)
    hr_group().user_set.clear()

    assert not User.objects.get(pk=plain.pk).is_staff
    assert not User.objects.get(pk=other.pk).is_staff
    assert User.objects.get(pk=boss.pk).is_staff


@pytest.mark.django_db
def test_managers_are_not_made_staff_and_a_hand_set_flag_stays_without_roles():
    """Managers work on the site only; a staff flag set by hand is not taken away by unrelated changes."""
    manager = UserFactory(groups=["Managers"])
    assert not manager.is_staff
    helper = UserFactory(is_staff=True)
    helper.groups.add(Group.objects.get(name="Managers"))
    helper.refresh_from_db()
    assert helper.is_staff


@pytest.mark.django_db
def test_saving_an_hr_user_without_the_staff_flag_puts_it_back():
    """The staff flag follows the role: unticking it for an HR member does not lock them out."""
    user = UserFactory(groups=["HR"])
    user.is_staff = False
    user.save()
    user.refresh_from_db()
    assert user.is_staff


@pytest.mark.django_db
def test_people_and_roles_page_lists_users_roles_and_what_they_can_do(admin_client):
    """The admin's "People and roles" page names each account's roles and what those allow."""
    UserFactory(username="hr-ann", groups=["HR"])
    UserFactory(username="mgr-bob", groups=["Managers"])
    UserFactory(username="nobody")
    response = admin_client.get("/admin/attendance_site/roleholder/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "hr-ann" in text and "mgr-bob" in text and "nobody" in text
    assert "Enrols people" in text and "Reads the attendance reports" in text  # the roles table
    assert "enrolment, kiosks, corrections" in text and "nothing yet: give the account a role" in text


@pytest.mark.django_db
def test_people_and_roles_page_is_for_administrators_only(client):
    """HR cannot open the roles page: who holds which role is the administrator's business."""
    client.force_login(UserFactory(groups=["HR"]))
    assert client.get("/admin/attendance_site/roleholder/").status_code == 403


@pytest.mark.django_db
def test_choosing_hr_on_the_user_page_is_all_it_takes(admin_client):
    """The administrator ticks the HR group on the user's admin page (staff left unticked) and saves."""
    user = UserFactory(username="ann")
    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "ann",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [hr_group().pk],
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "initial-date_joined_0": "2026-01-05",
            "initial-date_joined_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    user.refresh_from_db()
    assert user.is_staff and list(user.groups.values_list("name", flat=True)) == ["HR"]
