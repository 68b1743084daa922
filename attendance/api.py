"""The check-in API for kiosks: post a frame, then read what it led to."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance import services
from attendance.authentication import IsKiosk, KioskTokenAuthentication
from attendance.frames import FrameError, frame_check
from attendance.models import CheckinAttempt
from attendance.throttling import KioskFrameThrottle, KioskPollThrottle

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})


class CheckinAttemptOutput(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    first_name = serializers.SerializerMethodField()
    event_kind = serializers.SerializerMethodField()
    event_time = serializers.SerializerMethodField()

    class Meta:
        model = CheckinAttempt
        fields = [
            "id",
            "state",
            "outcome",
            "message",
            "first_name",
            "event_kind",
            "event_time",
            "created_at",
            "finished_at",
            "status_url",
        ]

    def get_status_url(self, obj) -> str:
        return reverse("checkin-detail", args=[obj.id])

    def get_first_name(self, obj) -> str | None:
        # Only what the screen shows, and only once the person is confirmed.
        if (
            obj.outcome in (obj.Outcome.CHECKED_IN, obj.Outcome.CHECKED_OUT, obj.Outcome.ALREADY)
            and obj.person
        ):
            return obj.person.first_name
        return None

    def _event(self, obj):
        return getattr(obj, "event", None) if obj.state == obj.State.DONE else None

    def get_event_kind(self, obj) -> str | None:
        event = self._event(obj)
        return event.kind if event else None

    def get_event_time(self, obj) -> str | None:
        event = self._event(obj)
        return event.timestamp.isoformat() if event else None


class CheckinCreateApi(APIView):
    """Accept one camera frame from a kiosk and queue its recognition."""

    authentication_classes = [KioskTokenAuthentication]
    permission_classes = [IsKiosk]
    throttle_classes = [KioskFrameThrottle]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        frame = serializers.FileField(
            allow_empty_file=True, help_text="The camera frame: JPEG (or PNG/WebP), at most a few MB."
        )
        kind = serializers.ChoiceField(
            choices=["", "in", "out"],
            required=False,
            default="",
            help_text="'in' or 'out' when the person pressed a button; empty to decide by the rules.",
        )

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            202: CheckinAttemptOutput,
            400: ERROR,
            401: ERROR,
            403: ERROR,
            429: ERROR,
        },
        summary="Post a frame",
    )
    def post(self, request):
        # Refuse an oversized body before reading it.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.CHECKIN_FRAME_MAX_BYTES + 64 * 1024:
            return _bad(
                f"The upload is {length} bytes; a frame may be at most {settings.CHECKIN_FRAME_MAX_BYTES}."
            )
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            return _bad(f"{field}: {errors[0]}")
        upload = serializer.validated_data["frame"]
        if upload.size > settings.CHECKIN_FRAME_MAX_BYTES:
            return _bad(
                f"The frame is {upload.size} bytes; at most {settings.CHECKIN_FRAME_MAX_BYTES} are accepted."
            )
        data = upload.read()
        try:
            frame_check(data)
        except FrameError as exc:
            return _bad(str(exc))
        attempt = services.checkin_attempt_create(
            kiosk=request.auth, frame=data, requested_kind=serializer.validated_data["kind"]
        )
        body = CheckinAttemptOutput(attempt).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class CheckinDetailApi(APIView):
    """Return the state and outcome of one of this kiosk's attempts."""

    authentication_classes = [KioskTokenAuthentication]
    permission_classes = [IsKiosk]
    throttle_classes = [KioskPollThrottle]

    @extend_schema(
        responses={200: CheckinAttemptOutput, 401: ERROR, 403: ERROR, 404: ERROR}, summary="Read an attempt"
    )
    def get(self, request, attempt_id):
        attempt = get_object_or_404(
            CheckinAttempt.objects.select_related("person", "event"), pk=attempt_id, kiosk=request.auth
        )
        return Response(CheckinAttemptOutput(attempt).data)


def _bad(reason: str) -> Response:
    return Response({"detail": reason}, status=status.HTTP_400_BAD_REQUEST)
