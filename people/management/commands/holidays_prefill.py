"""Add a country's public holidays to a holiday calendar.

manage.py holidays_prefill DE 2026 2027                              # the default calendar
manage.py holidays_prefill AT 2026 --calendar "Vienna office"         # created if it is new
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from people.services import holidays_prefill


class Command(BaseCommand):
    help = (
        "Add a country's public holidays (ISO code, optional subdivision) for the given years to a calendar."
    )

    def add_arguments(self, parser):
        parser.add_argument("country", help="ISO country code, e.g. DE, US, GB")
        parser.add_argument("years", nargs="+", type=int, help="years to add, e.g. 2026 2027")
        parser.add_argument("--subdivision", default="", help="a state or region code, e.g. BY")
        parser.add_argument(
            "--calendar",
            default="",
            help="the holiday calendar's name (created with this country if new); default: the default one",
        )

    def handle(self, *args, country, years, subdivision, calendar, **options):
        try:
            created = holidays_prefill(
                country=country, years=years, subdivision=subdivision, calendar=calendar
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        where = f" to {calendar.strip()!r}" if calendar.strip() else ""
        self.stdout.write(
            f"Added {created} holidays for {country.upper()} {', '.join(map(str, years))}{where}."
        )
