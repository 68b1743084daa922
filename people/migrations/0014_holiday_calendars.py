"""Holiday calendars: one per site or country; today's holidays move into a default one.

Everybody follows the default calendar until HR gives them another (Person.holiday_calendar empty),
so reports read exactly as before.
"""

import django.db.models.deletion
from django.db import migrations, models

import people.models


def forwards(apps, schema_editor):
    """Put every holiday without a calendar into the default calendar (created if there is none)."""
    HolidayCalendar = apps.get_model("people", "HolidayCalendar")
    Holiday = apps.get_model("people", "Holiday")
    default = HolidayCalendar.objects.filter(is_default=True).first()
    if default is None:
        default = HolidayCalendar.objects.create(name="Company holidays", is_default=True)
    Holiday.objects.filter(calendar__isnull=True).update(calendar=default)
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: PostgreSQL refuses to alter a table with checks still pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def backwards(apps, schema_editor):
    """Going back to one list keeps only the default calendar's holidays (dates were unique there)."""
    Holiday = apps.get_model("people", "Holiday")
    Holiday.objects.exclude(calendar__is_default=True).delete()


class Migration(migrations.Migration):
    dependencies = [("people", "0013_zip_import_staged")]

    operations = [
        migrations.CreateModel(
            name="HolidayCalendar",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("country", models.CharField(blank=True, help_text="ISO country code, e.g. DE.", max_length=2)),
                (
                    "subdivision",
                    models.CharField(blank=True, help_text="State or region code, e.g. BY.", max_length=10),
                ),
                (
                    "is_default",
                    models.BooleanField(
                        default=False,
                        help_text="Followed by everybody who has no calendar of their own.",
                        verbose_name="default",
                    ),
                ),
            ],
            options={
                "ordering": ["-is_default", "name"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_default", True)),
                        fields=("is_default",),
                        name="one_default_holiday_calendar",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="holiday",
            name="calendar",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="holidays",
                to="people.holidaycalendar",
            ),
        ),
        migrations.AddField(
            model_name="person",
            name="holiday_calendar",
            field=models.ForeignKey(
                blank=True,
                help_text="Their site's holidays; empty means the default calendar.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="people",
                to="people.holidaycalendar",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="holiday",
            name="calendar",
            field=models.ForeignKey(
                default=people.models.default_holiday_calendar_id,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="holidays",
                to="people.holidaycalendar",
            ),
        ),
        migrations.AlterField(model_name="holiday", name="date", field=models.DateField()),
        migrations.AddConstraint(
            model_name="holiday",
            constraint=models.UniqueConstraint(fields=("calendar", "date"), name="one_holiday_per_calendar_and_date"),
        ),
    ]
