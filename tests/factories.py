"""factory_boy factories shared by every test area."""

from __future__ import annotations

import datetime as dt
import secrets

import factory
from django.contrib.auth.models import Group, User

from attendance.checkin.services import kiosk_token_hash
from attendance.clock import Clock
from attendance.models import AttendanceEvent, CheckinAttempt, Kiosk
from people.models import Department, Person


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        """Pass groups=["HR"] to put the user in those (migration-created) groups."""
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    employee_id = factory.Sequence(lambda n: f"E{n:05d}")
    full_name = factory.Faker("name")
    email = factory.Faker("email")
    department = factory.SubFactory(DepartmentFactory)
    shift_start = dt.time(9, 0)
    shift_end = dt.time(17, 0)


class KioskFactory(factory.django.DjangoModelFactory):
    """A kiosk; the plain token is kept on the instance as `token` for tests."""

    class Meta:
        model = Kiosk

    name = factory.Sequence(lambda n: f"Kiosk {n}")
    location = "Entrance"
    token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    token_hash = factory.LazyAttribute(lambda o: kiosk_token_hash(o.token))

    @classmethod
    def _create(cls, model_class, *args, token=None, **kwargs):
        kiosk = super()._create(model_class, *args, **kwargs)
        kiosk.token = token
        return kiosk


class AttendanceEventFactory(factory.django.DjangoModelFactory):
    """An event; `workday` follows the site's workday boundary unless given."""

    class Meta:
        model = AttendanceEvent

    person = factory.SubFactory(PersonFactory)
    kind = AttendanceEvent.Kind.IN
    timestamp = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))
    source = AttendanceEvent.Source.KIOSK
    workday = factory.LazyAttribute(lambda o: Clock.from_settings().workday(o.timestamp))


class CheckinAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckinAttempt

    kiosk = factory.SubFactory(KioskFactory)
