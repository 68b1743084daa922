"""The kiosk page, kiosk registration and the check-in API."""

from django.urls import path

from attendance.checkin import api, views

urlpatterns = [
    path("kiosk/", views.kiosk_page, name="kiosk"),
    path("kiosk/register/", views.kiosk_register, name="kiosk-register"),
    path("api/v1/checkins/", api.CheckinCreateApi.as_view(), name="checkin-create"),
    path("api/v1/checkins/pin/", api.CheckinPinApi.as_view(), name="checkin-pin"),
    path("api/v1/checkins/<uuid:attempt_id>/", api.CheckinDetailApi.as_view(), name="checkin-detail"),
    path(
        "api/v1/checkins/<uuid:attempt_id>/challenge/",
        api.CheckinChallengeAnswerApi.as_view(),
        name="checkin-challenge-answer",
    ),
    path("api/v1/checkins/<uuid:attempt_id>/choice/", api.CheckinChoiceApi.as_view(), name="checkin-choice"),
]
