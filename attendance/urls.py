from django.urls import path
from drf_spectacular.views import SpectacularSwaggerView

from attendance import api, views

urlpatterns = [
    path("kiosk/", views.kiosk_page, name="kiosk"),
    path("kiosk/register/", views.kiosk_register, name="kiosk-register"),
    path("attendance/people/<int:person_id>/", views.person_attendance, name="person-attendance"),
    path("api/v1/checkins/", api.CheckinCreateApi.as_view(), name="checkin-create"),
    path("api/v1/checkins/<uuid:attempt_id>/", api.CheckinDetailApi.as_view(), name="checkin-detail"),
    path(
        "api/v1/checkins/<uuid:attempt_id>/challenge/",
        api.CheckinChallengeAnswerApi.as_view(),
        name="checkin-challenge-answer",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
