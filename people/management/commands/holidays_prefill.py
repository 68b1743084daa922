"""Add a country's public holidays to the company calendar: manage.py holidays_prefill DE 2026 2027."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from people.services import holidays_prefill


class Command(BaseCommand):
    help = "Add a country's public holidays (ISO code, optional subdivision) for the given years."

    def add_arguments(self, parser):
        parser.add_argument("country", help="ISO country code, e.g. DE, US, GB")
        parser.add_argument("years", nargs="+", type=int, help="years to add, e.g. 2026 2027")
        parser.add_argument("--subdivision", default="", help="a state or region code, e.g. BY")

    def handle(self, *args, country, years, subdivision, **options):
        try:
            created = holidays_prefill(country=country, years=years, subdivision=subdivision)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Added {created} holidays for {country.upper()} {', '.join(map(str, years))}.")
