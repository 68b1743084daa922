"""Apply the retention policy now (the scheduler also runs it daily)."""

from django.core.management.base import BaseCommand

from attendance_site.privacy import retention_apply


class Command(BaseCommand):
    help = (
        "Delete check-in frames older than CHECKIN_FRAME_RETENTION_DAYS and the biometric data of "
        "people inactive for more than BIOMETRIC_RETENTION_INACTIVE_DAYS. --dry-run lists them only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; delete nothing."
        )

    def handle(self, *args, dry_run, **options):
        for line in retention_apply(dry_run=dry_run).lines():
            self.stdout.write(line)
