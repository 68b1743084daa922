from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from attendance_site.health import healthz

admin.site.site_header = "Face attendance"
admin.site.site_title = "Face attendance"
admin.site.index_title = "Administration"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its set-up script from /api/docs/?script (a file, not an inline script).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("people.urls")),
    path("", include("attendance.urls")),
]
