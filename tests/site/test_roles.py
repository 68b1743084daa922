"""The HR and Managers roles get exactly the permissions listed for them."""

import pytest
from django.contrib.auth.models import Group

from attendance_site.roles import ROLE_PERMISSIONS, apply_role_permissions


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
