from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "attendance_site"
    verbose_name = "Site"

    def ready(self) -> None:
        from attendance_site import audit, roles

        roles.connect()
        audit.connect()
