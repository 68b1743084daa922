"""Every URL of the attendance app: check-in, reports, and HR's person history."""

from django.urls import include, path

from attendance import views

urlpatterns = [
    path("", include("attendance.checkin.urls")),
    path("", include("attendance.reports.urls")),
    path("attendance/people/<int:person_id>/", views.person_attendance, name="person-attendance"),
    path("attendance/attempts/<uuid:attempt_id>/frame/", views.checkin_frame, name="checkin-frame"),
]
