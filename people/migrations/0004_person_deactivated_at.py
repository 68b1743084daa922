from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_person_possible_duplicate"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="deactivated_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
