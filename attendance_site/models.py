"""The audit log: who viewed or changed face data and attendance events, and when."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        ADD = "add", "Added"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"
        EXPORT = "export", "Exported"
        DELETE_BIOMETRICS = "delete_biometrics", "Deleted biometric data"
        RETENTION = "retention", "Deleted by the retention policy"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the log still says who it was after the account is deleted.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    what = models.CharField(max_length=100, help_text="The kind of record, e.g. face photo.")
    object_id = models.CharField(max_length=64, blank=True)
    # The person the data belongs to, as text: the log outlives the person's record.
    person = models.CharField(max_length=250, blank=True)
    path = models.CharField(max_length=300, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["person", "at"])]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.username or 'system'} {self.action} {self.what} {self.object_id}"
        )


class RoleHolder(get_user_model()):
    """A user seen through their roles: the admin's "People and roles" page (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "user and role"
        verbose_name_plural = "people and roles"
