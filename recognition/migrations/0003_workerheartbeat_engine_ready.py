from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recognition", "0002_training_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="workerheartbeat",
            name="engine_ready",
            field=models.BooleanField(default=False),
        ),
    ]
