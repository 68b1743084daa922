"""The staff roles and exactly the permissions each needs, kept in step after every migrate.

HR enrols people and looks after kiosks and attendance corrections; Managers read reports.
Groups are created by a data migration (people/0002_roles); their permissions are (re)applied
here after each migrate, because permissions only exist once every app has migrated.
"""

from django.apps import apps as global_apps
from django.db.models.signals import post_migrate

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
        "recognition.view_recogniserversion",
        "recognition.add_recogniserversion",
        "attendance.add_kiosk",
        "attendance.change_kiosk",
        "attendance.view_kiosk",
        "attendance.view_checkinattempt",
        "attendance.add_attendanceevent",
        "attendance.change_attendanceevent",
        "attendance.delete_attendanceevent",
        "attendance.view_attendanceevent",
        "attendance.view_attendanceeventlog",  # attendance: who fixed events, when and why
    ],
    "Managers": [
        "attendance.view_reports",
        "people.view_department",
    ],
}


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


def connect() -> None:
    post_migrate.connect(apply_role_permissions, dispatch_uid="attendance_site.roles")
