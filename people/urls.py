"""Enrolment URLs: face photos for HR only, progress polled by the admin, the webcam enrolment page."""

from django.urls import path

from people import views

app_name = "people"

urlpatterns = [
    path("enrolment/photos/<int:pk>/", views.face_image, name="face-image"),
    path("enrolment/photos/<int:pk>/thumbnail/", views.face_image_thumbnail, name="face-image-thumbnail"),
    path("enrolment/people/<int:pk>/progress/", views.person_progress_json, name="person-progress"),
    path("enrolment/people/<int:pk>/webcam/", views.webcam_enrol, name="webcam-enrol"),
    path("enrolment/people/<int:pk>/webcam/shot/", views.webcam_shot, name="webcam-shot"),
]
