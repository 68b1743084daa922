"""Check the configured database and broker before starting, with one-line errors."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from attendance_site.health import check_broker, check_database


class Command(BaseCommand):
    help = "Check that DATABASE_URL and CELERY_BROKER_URL point at services that answer."

    def handle(self, *args, **options):
        database = check_database()
        if not database["ok"]:
            raise CommandError(f"DATABASE_URL: {database['reason']}")
        broker = check_broker()
        if not broker["ok"] and settings.EMBEDDED_BROKER:
            self.stdout.write(
                f"database ({database['vendor']}) answers; the embedded broker is not running "
                "(make run starts it, or set CELERY_BROKER_URL)"
            )
            return
        if not broker["ok"]:
            raise CommandError(f"CELERY_BROKER_URL={settings.CELERY_BROKER_URL}: {broker['reason']}")
        self.stdout.write(f"database ({database['vendor']}) and broker ({broker['transport']}) answer")
