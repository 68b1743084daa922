from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People and enrolment"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from people.services import consent_text_ensure

        # Like the roles (attendance_site.roles): restored after every migrate and test flush.
        post_migrate.connect(consent_text_ensure, sender=self, dispatch_uid="people.consent_text")
