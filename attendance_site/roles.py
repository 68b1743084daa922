"""The staff roles and exactly the permissions each needs, kept in step after every migrate.

HR enrols people and looks after kiosks and attendance corrections; Managers read reports.
Groups are created by a data migration (people/0002_roles); their permissions are (re)applied
here after each migrate, because permissions only exist once every app has migrated.

Putting a user in a role is all it takes: Django's "staff status" (needed to log in to the admin)
follows membership of the roles that work in the admin, both ways (see `user_staff_sync`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_migrate, post_save

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "HR": [
        "people.add_department",
        "people.change_department",
        "people.view_department",
        "people.add_person",
        "people.change_person",
        "people.delete_person",
        "people.view_person",
        "people.add_faceimage",
        "people.change_faceimage",
        "people.delete_faceimage",
        "people.view_faceimage",
        "people.add_consenttext",
        "people.change_consenttext",  # only while nobody has agreed to it (people/admin.py)
        "people.view_consenttext",
        "people.add_workschedule",
        "people.change_workschedule",
        "people.delete_workschedule",
        "people.view_workschedule",
        "people.add_scheduleday",
        "people.change_scheduleday",
        "people.delete_scheduleday",
        "people.view_scheduleday",
        "people.add_scheduleassignment",
        "people.change_scheduleassignment",
        "people.delete_scheduleassignment",
        "people.view_scheduleassignment",
        "people.add_holiday",
        "people.change_holiday",
        "people.delete_holiday",
        "people.view_holiday",
        "people.add_holidaycalendar",
        "people.change_holidaycalendar",
        "people.delete_holidaycalendar",
        "people.view_holidaycalendar",
        "people.add_leave",
        "people.change_leave",
        "people.delete_leave",
        "people.view_leave",
        "people.view_zipimport",  # the all-or-nothing zip imports: progress and outcome
        "recognition.view_recogniserversion",
        "recognition.add_recogniserversion",
        "attendance.add_kiosk",
        "attendance.change_kiosk",
        "attendance.view_kiosk",
        "attendance.add_kioskpin",  # the PIN fallback: set, replace, unlock, remove a person's PIN
        "attendance.change_kioskpin",
        "attendance.delete_kioskpin",
        "attendance.view_kioskpin",
        "attendance.view_checkinattempt",
        "attendance.add_attendanceevent",
        "attendance.change_attendanceevent",
        "attendance.delete_attendanceevent",
        "attendance.view_attendanceevent",
        "attendance.view_attendanceeventlog",  # attendance: who fixed events, when and why
        # The site: reports, deciding requests (/reports/requests/), correcting events, pay periods.
        "attendance.view_reports",
        "attendance.correct_events",
        "attendance.add_payperiod",
        "attendance.change_payperiod",  # approve and lock, reopen (with a reason)
        "attendance.view_payperiod",
    ],
    "Managers": [
        "attendance.view_reports",  # also deciding their departments' requests
        "attendance.correct_events",  # their departments' events, on the site
        "attendance.view_payperiod",
        "people.view_department",
    ],
}


# What each role can do, in the words the "People and roles" admin page shows.
ROLE_DESCRIPTIONS: dict[str, str] = {
    "HR": "Enrols people and their face photos, sets work schedules, holidays and leave, registers "
    "kiosks, corrects attendance events, retrains the recogniser (in the admin); on the site reads "
    "every report, decides employees' requests, corrects events, approves and locks pay periods.",
    "Managers": "Reads the attendance reports and exports them, decides their people's requests and "
    "corrects their events (on the site; departments may be limited under Report access), gets a "
    "daily digest e-mail. No admin, no face photos.",
}
# The same, in a few words, for the column of the users list.
ROLE_SUMMARIES: dict[str, str] = {
    "HR": "enrolment, kiosks, corrections, requests, pay periods",
    "Managers": "reports, requests, corrections",
}

# Roles whose work is in the admin: their members get the staff flag. Managers work on the site
# only; making them staff would open the admin to them (tests/site/test_authorization_matrix.py).
ADMIN_ROLES = ("HR",)


def apply_role_permissions(using: str = "default", **_kwargs) -> None:
    """Give each role exactly the permissions listed in ROLE_PERMISSIONS."""
    Group = global_apps.get_model("auth", "Group")
    Permission = global_apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            wanted.extend(
                Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def user_staff_sync(*, user_ids: Iterable[int], clear: bool) -> list[int]:
    """Give the staff flag to these users when they hold an admin role; return the ids changed.

    With `clear`, also take it away from those who no longer hold one (superusers keep it): that is
    for a role being removed, so that a staff flag set by hand for another reason is left alone
    when nothing about roles was taken away.
    """
    User = get_user_model()
    users = User.objects.filter(pk__in=list(user_ids))
    in_role = users.filter(groups__name__in=ADMIN_ROLES)
    grant = list(in_role.filter(is_staff=False).values_list("pk", flat=True).distinct())
    User.objects.filter(pk__in=grant).update(is_staff=True)
    revoke: list[int] = []
    if clear:
        revoke = list(
            users.filter(is_staff=True, is_superuser=False)
            .exclude(pk__in=in_role.values("pk"))
            .values_list("pk", flat=True)
        )
        User.objects.filter(pk__in=revoke).update(is_staff=False)
    return grant + revoke


def _role_membership_changed(sender, instance, action, reverse, pk_set, **_kwargs) -> None:
    """Keep the staff flag in step when users join or leave a role (from either side)."""
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    User = get_user_model()
    if action == "pre_clear":
        # After a clear the removed ids are gone; remember who was a member beforehand.
        if reverse:
            instance._role_clear_user_ids = list(instance.user_set.values_list("pk", flat=True))
        return
    if reverse:  # group.user_set.add(...) and the like: instance is a Group
        user_ids = pk_set if action != "post_clear" else getattr(instance, "_role_clear_user_ids", [])
    else:  # user.groups.add(...): instance is a User
        user_ids = [instance.pk]
    user_staff_sync(user_ids=user_ids or [], clear=action != "post_add")
    if not reverse and isinstance(instance, User):
        # The caller's object would otherwise save the old flag back.
        instance.is_staff = User.objects.filter(pk=instance.pk).values_list("is_staff", flat=True).first()


def _user_saved(sender, instance, created, raw=False, **_kwargs) -> None:
    """A user saved with the staff flag cleared while in an admin role gets it back."""
    if raw or created or instance.is_staff:
        return
    if user_staff_sync(user_ids=[instance.pk], clear=False):
        instance.is_staff = True


def connect() -> None:
    post_migrate.connect(apply_role_permissions, dispatch_uid="attendance_site.roles")
    User = get_user_model()
    m2m_changed.connect(
        _role_membership_changed, sender=User.groups.through, dispatch_uid="attendance_site.roles.staff"
    )
    post_save.connect(_user_saved, sender=User, dispatch_uid="attendance_site.roles.saved")
