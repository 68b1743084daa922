"""Make sure an administrator account exists, without ever changing an existing one."""

import os

from django.core.management.base import BaseCommand

from attendance_site.accounts import admin_ensure


class Command(BaseCommand):
    help = (
        "Create a superuser from DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL, or with generated "
        "credentials printed once, unless a superuser already exists."
    )

    def handle(self, *args, **options):
        account = admin_ensure(
            username=os.environ.get("DJANGO_SUPERUSER_USERNAME", ""),
            password=os.environ.get("DJANGO_SUPERUSER_PASSWORD", ""),
            email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""),
        )
        if not account.created:
            self.stdout.write("An administrator account exists.")
        elif account.password:
            self.stdout.write(
                self.style.WARNING(
                    "Created administrator account (shown only this once; change it in the admin):\n"
                    f"    username: {account.username}\n    password: {account.password}"
                )
            )
        else:
            self.stdout.write(f"Created administrator account {account.username!r} from DJANGO_SUPERUSER_*.")
