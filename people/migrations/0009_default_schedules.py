"""Give every existing person a schedule matching what the reports assumed until now.

One schedule per distinct shift (start, end) among people: the working weekdays of
REPORT_WORKING_WEEKDAYS, the grace of REPORT_LATE_GRACE_MINUTES and the workday boundary of
WORKDAY_START, assigned from the day the person was created. Reports read the same as before.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations


def schedule_name(start, end, weekdays):
    names = "Mon Tue Wed Thu Fri Sat Sun".split()
    days = "-".join([names[min(weekdays)], names[max(weekdays)]]) if weekdays else "no days"
    if weekdays and sorted(weekdays) != list(range(min(weekdays), max(weekdays) + 1)):
        days = ",".join(names[d] for d in sorted(weekdays))
    return f"{days} {start:%H:%M}-{end:%H:%M}"


def forwards(apps, schema_editor):
    Person = apps.get_model("people", "Person")
    WorkSchedule = apps.get_model("people", "WorkSchedule")
    ScheduleDay = apps.get_model("people", "ScheduleDay")
    ScheduleAssignment = apps.get_model("people", "ScheduleAssignment")
    weekdays = sorted(set(settings.REPORT_WORKING_WEEKDAYS))
    boundary = dt.time.fromisoformat(settings.WORKDAY_START)
    schedules = {}
    for person in Person.objects.order_by("pk").iterator():
        key = (person.shift_start, person.shift_end)
        if key not in schedules:
            schedule, created = WorkSchedule.objects.get_or_create(
                name=schedule_name(*key, weekdays),
                defaults={
                    "late_grace_minutes": settings.REPORT_LATE_GRACE_MINUTES,
                    "workday_boundary": boundary,
                },
            )
            if created:
                ScheduleDay.objects.bulk_create(
                    ScheduleDay(schedule=schedule, weekday=d, start=key[0], end=key[1]) for d in weekdays
                )
            schedules[key] = schedule
        ScheduleAssignment.objects.get_or_create(
            person=person, start_date=person.created_at.date(), defaults={"schedule": schedules[key]}
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0008_schedules_holidays_leave")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
