"""Recogniser versions for HR: read-only figures of every training run, and "Retrain recogniser now"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from recognition.models import RecogniserVersion
from recognition.reembedding import reembedding_status
from recognition.training import training_request


@admin.register(RecogniserVersion)
class RecogniserVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "created_at",
        "status",
        "is_active",
        "trigger",
        "people_count",
        "photos_count",
        "training_time",
        "cv_accuracy_pct",
        "threshold_display",
        "target_far_pct",
        "genuine_accept_pct",
        "sha256_short",
    ]
    list_filter = ["status", "is_active"]
    change_list_template = "admin/recognition/recogniserversion/change_list.html"
    fields = [
        "created_at",
        "finished_at",
        "created_by",
        "trigger",
        "status",
        "is_active",
        "people_count",
        "photos_count",
        "training_seconds",
        "cv_accuracy",
        "threshold",
        "target_far",
        "genuine_accept_rate",
        "embedder_version",
        "format_version",
        "sha256",
        "error",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Training time", ordering="training_seconds")
    def training_time(self, v):
        return "-" if v.training_seconds is None else f"{v.training_seconds:.1f} s"

    @admin.display(description="CV accuracy", ordering="cv_accuracy")
    def cv_accuracy_pct(self, v):
        return "-" if v.cv_accuracy is None else f"{v.cv_accuracy:.1%}"

    @admin.display(description="Threshold", ordering="threshold")
    def threshold_display(self, v):
        # Format 2: a score margin (explained above the list); format 1: a distance.
        return "-" if v.threshold is None else f"{v.threshold:.2f}"

    @admin.display(description="Target false accepts")
    def target_far_pct(self, v):
        return "-" if v.target_far is None else f"{v.target_far:.2%}"

    @admin.display(description="Enrolled photos accepted")
    def genuine_accept_pct(self, v):
        return "-" if v.genuine_accept_rate is None else f"{v.genuine_accept_rate:.1%}"

    @admin.display(description="sha256")
    def sha256_short(self, v):
        return v.sha256[:12]

    def changelist_view(self, request, extra_context=None):
        # After an embedder upgrade: how far re-embedding the enrolled photos has come (training of the
        # new version follows it; the page refreshes itself until it is done).
        extra_context = {**(extra_context or {}), "reembedding": reembedding_status()}
        return super().changelist_view(request, extra_context=extra_context)

    def get_urls(self):
        retrain = self.admin_site.admin_view(require_POST(self.retrain_view))
        return [path("retrain/", retrain, name="recognition_recogniserversion_retrain")] + super().get_urls()

    def retrain_view(self, request):
        """Queue a training run now ("Retrain recogniser now"); it starts within a few seconds."""
        if not request.user.has_perm("recognition.add_recogniserversion"):
            raise PermissionDenied
        with transaction.atomic():
            training_request(reason=f"asked by {request.user}")
        messages.success(request, "Retraining queued: a new recogniser version appears here in a moment.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "admin:recognition_recogniserversion_changelist"
        return redirect(target)
