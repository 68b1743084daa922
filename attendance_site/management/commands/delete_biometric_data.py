"""Delete a person's face photos, embeddings and check-in frames; keep their attendance events."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from attendance_site.privacy import person_biometrics_delete
from people.models import Person


class Command(BaseCommand):
    help = (
        "Delete the biometric data of a person (face photos from storage, embeddings, stored check-in "
        "frames) and retrain the recogniser. Attendance events are kept. The deletion is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("employee_id", help="The person's employee id.")
        parser.add_argument("--by", help="Username recorded in the audit log as the one who asked.")
        parser.add_argument("--reason", default="", help="Why, for the audit log (e.g. consent withdrawn).")
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be deleted.")

    def handle(self, *args, employee_id, by, reason, dry_run, **options):
        person = Person.objects.filter(employee_id=employee_id).first()
        if person is None:
            raise CommandError(f"No person has employee id {employee_id!r}.")
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user is called {by!r}.")
        result = person_biometrics_delete(person=person, by=user, reason=reason, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {result.photos} face photos and {result.frames} check-in frames of {result.person}"
            f"{'' if dry_run else '; attendance events kept; retraining queued'}."
        )
        for name in result.files if dry_run else []:
            self.stdout.write(f"  {name}")
