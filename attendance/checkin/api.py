"""The check-in API for kiosks: post a frame, then read what it led to."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.checkin import rules, services
from attendance.checkin.authentication import IsKiosk, KioskTokenAuthentication
from attendance.checkin.frames import FrameError, frame_check
from attendance.checkin.throttling import KioskFrameThrottle, KioskPollThrottle
from attendance.models import CheckinAttempt

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
CHALLENGE = inline_serializer(
    "LivenessChallenge",
    {
        "steps": serializers.ListField(child=serializers.ChoiceField(choices=["left", "right"])),
        "instructions": serializers.ListField(child=serializers.CharField()),
        "expires_at": serializers.DateTimeField(),
        "answer_url": serializers.CharField(),
        "max_frames": serializers.IntegerField(),
    },
    allow_null=True,
)
# A challenge answer carries several frames; its whole body is capped at this many frames' worth.
LIVENESS_UPLOAD_FRAMES_WORTH = 4


class CheckinAttemptOutput(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    first_name = serializers.SerializerMethodField()
    event_kind = serializers.SerializerMethodField()
    event_time = serializers.SerializerMethodField()
    challenge = serializers.SerializerMethodField()

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
            "challenge",
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

    @extend_schema_field(CHALLENGE)
    def get_challenge(self, obj) -> dict | None:
        # Only an open challenge: what to ask, until when, and where to send the frames.
        if obj.outcome != obj.Outcome.CHALLENGE or obj.challenge_answered_at is not None:
            return None
        return {
            "steps": obj.challenge,
            "instructions": rules.challenge_instructions(obj.challenge),
            "expires_at": obj.challenge_expires_at.isoformat(),
            "answer_url": reverse("checkin-challenge-answer", args=[obj.id]),
            "max_frames": settings.LIVENESS_MAX_FRAMES,
        }


class KioskApi(APIView):
    """An endpoint for registered kiosks only (`Authorization: Kiosk <token>`)."""

    authentication_classes = [KioskTokenAuthentication]
    permission_classes = [IsKiosk]


class KioskUploadApi(KioskApi):
    """A kiosk's upload of frames: multipart, counted against the kiosk's frame rate."""

    throttle_classes = [KioskFrameThrottle]
    parser_classes = [MultiPartParser, FormParser]


class CheckinCreateApi(KioskUploadApi):
    """Accept one camera frame from a kiosk and queue its recognition."""

    # Named for the schema: each endpoint's input is its own component.
    class CheckinFrameInputSerializer(serializers.Serializer):
        frame = serializers.FileField(
            allow_empty_file=True, help_text="The camera frame: JPEG (or PNG/WebP), at most a few MB."
        )
        kind = serializers.ChoiceField(
            choices=["", "in", "out"],
            required=False,
            default="",
            help_text="'in' or 'out' when the person pressed a button; empty to decide by the rules.",
        )

    INPUT = CheckinFrameInputSerializer

    @extend_schema(
        request={"multipart/form-data": CheckinFrameInputSerializer},
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
        serializer = self.INPUT(data=request.data)
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


class CheckinDetailApi(KioskApi):
    """Return the state and outcome of one of this kiosk's attempts."""

    throttle_classes = [KioskPollThrottle]

    @extend_schema(
        responses={200: CheckinAttemptOutput, 401: ERROR, 403: ERROR, 404: ERROR}, summary="Read an attempt"
    )
    def get(self, request, attempt_id):
        attempt = get_object_or_404(
            CheckinAttempt.objects.select_related("person", "event"), pk=attempt_id, kiosk=request.auth
        )
        return Response(CheckinAttemptOutput(services.checkin_attempt_read(attempt=attempt)).data)


class CheckinChallengeAnswerApi(KioskUploadApi):
    """Answer an attempt's liveness challenge with the burst of frames captured while it was shown."""

    class ChallengeAnswerInputSerializer(serializers.Serializer):
        frames = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True),
            allow_empty=False,
            help_text="The frames in capture order (JPEG, PNG or WebP), the first one looking ahead.",
        )

    INPUT = ChallengeAnswerInputSerializer

    @extend_schema(
        request={"multipart/form-data": ChallengeAnswerInputSerializer},
        responses={202: CheckinAttemptOutput, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR,
                   410: ERROR, 429: ERROR},
        summary="Answer a liveness challenge",
    )  # fmt: skip
    def post(self, request, attempt_id):
        limit = settings.CHECKIN_FRAME_MAX_BYTES * LIVENESS_UPLOAD_FRAMES_WORTH
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > limit + 64 * 1024:
            return _bad(f"The upload is {length} bytes; a challenge answer may be at most {limit}.")
        # Find the attempt before reading or decoding any frame: a made-up attempt id must cost a query,
        # not seconds of decoding (16 frames of 4096x4096 took ~3 s before answering 404).
        if not CheckinAttempt.objects.filter(pk=attempt_id, kiosk=request.auth).exists():
            return Response({"detail": "No such attempt for this kiosk."}, status=status.HTTP_404_NOT_FOUND)
        serializer = self.INPUT(data=request.data)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            error = errors[0] if isinstance(errors, list) else next(iter(errors.values()))[0]
            return _bad(f"{field}: {error}")
        uploads = serializer.validated_data["frames"]
        low, high = 4, settings.LIVENESS_MAX_FRAMES
        if not low <= len(uploads) <= high:
            return _bad(f"{len(uploads)} frames were sent; a challenge answer needs {low} to {high}.")
        frames = []
        for number, upload in enumerate(uploads, start=1):
            data = upload.read()
            try:
                frame_check(data)
            except FrameError as exc:
                return _bad(f"Frame {number}: {exc}")
            frames.append(data)
        try:
            attempt = services.checkin_challenge_answer(
                attempt_id=attempt_id, kiosk=request.auth, frames=frames
            )
        except CheckinAttempt.DoesNotExist:
            return Response({"detail": "No such attempt for this kiosk."}, status=status.HTTP_404_NOT_FOUND)
        except services.ChallengeError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        body = CheckinAttemptOutput(attempt).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


def _bad(reason: str) -> Response:
    return Response({"detail": reason}, status=status.HTTP_400_BAD_REQUEST)
