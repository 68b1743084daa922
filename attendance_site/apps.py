from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "attendance_site"
    verbose_name = "Site"

    def ready(self) -> None:
        from attendance_site import audit, lockout, roles

        roles.connect()
        audit.connect()
        lockout.connect()
