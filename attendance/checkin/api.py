"""The check-in API for kiosks: post a frame, then read what it led to."""

from __future__ import annotations

import math

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.checkin import outcomes, rules, services
from attendance.checkin.authentication import IsKiosk, KioskTokenAuthentication
from attendance.checkin.frames import FrameError, frame_check
from attendance.checkin.throttling import KioskFrameThrottle, KioskPollThrottle
from attendance.clock import Clock
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
        "nonce": serializers.CharField(help_text="Send it back with the frames (field 'nonce'); used once."),
    },
    allow_null=True,
)
CHOICE = inline_serializer(
    "KioskChoice",
    {
        "kinds": serializers.ListField(child=serializers.ChoiceField(choices=list(rules.KINDS))),
        "likely": serializers.ChoiceField(choices=list(rules.KINDS)),
        "confirm_after_ms": serializers.IntegerField(),
        "expires_at": serializers.DateTimeField(),
        "confirm_url": serializers.CharField(),
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
    employee_id = serializers.SerializerMethodField()
    choice = serializers.SerializerMethodField()
    event_local_time = serializers.SerializerMethodField()

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
            "employee_id",
            "choice",
            "event_local_time",
        ]

    def get_status_url(self, obj) -> str:
        return reverse("checkin-detail", args=[obj.id])

    def get_first_name(self, obj) -> str | None:
        # Only what the screen shows, and only once the person is confirmed.
        if obj.outcome in outcomes.PERSON_SHOWN and obj.person:
            return obj.person.first_name
        return None

    def get_employee_id(self, obj) -> str | None:
        if obj.outcome in outcomes.PERSON_SHOWN and obj.person:
            return obj.person.employee_id
        return None

    @extend_schema_field(CHOICE)
    def get_choice(self, obj) -> dict | None:
        # Only while an explicit kiosk waits for the person's choice: what to offer and preselect.
        if obj.outcome != obj.Outcome.CHOOSING or obj.choice_made_at is not None:
            return None
        return {
            "kinds": list(rules.KINDS),
            "likely": services.choice_likely(attempt=obj),
            "confirm_after_ms": obj.kiosk.choice_confirm_seconds * 1000,
            "expires_at": services.choice_expires_at(attempt=obj).isoformat(),
            "confirm_url": reverse("checkin-choice", args=[obj.id]),
        }

    def _event(self, obj):
        return getattr(obj, "event", None) if obj.state == obj.State.DONE else None

    def get_event_kind(self, obj) -> str | None:
        event = self._event(obj)
        return event.kind if event else None

    def get_event_time(self, obj) -> str | None:
        event = self._event(obj)
        return event.timestamp.isoformat() if event else None

    def get_event_local_time(self, obj) -> str | None:
        # What the kiosk shows: the event's time in the site's zone, not the kiosk browser's.
        event = self._event(obj)
        return Clock.from_settings().local_time(event.timestamp) if event else None

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
            "nonce": obj.challenge_nonce,
        }


class KioskApi(APIView):
    """An endpoint for registered kiosks only (`Authorization: Kiosk <token>`)."""

    authentication_classes = [KioskTokenAuthentication]
    permission_classes = [IsKiosk]


class KioskUploadApi(KioskApi):
    """A kiosk's upload of frames: multipart, counted against the kiosk's frame rate."""

    throttle_classes = [KioskFrameThrottle]
    parser_classes = [MultiPartParser, FormParser]

    def one_frame(self, request) -> tuple[dict, bytes] | Response:
        """Return (validated fields, frame bytes) of a one-frame upload, or the 400 that says what is wrong.

        An oversized body is refused before it is read; the frame must be a usable camera image.
        """
        limit = settings.CHECKIN_FRAME_MAX_BYTES
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > limit + 64 * 1024:
            return _bad(f"The upload is {length} bytes; a frame may be at most {limit}.")
        serializer = self.INPUT(data=request.data)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            return _bad(f"{field}: {errors[0]}")
        upload = serializer.validated_data["frame"]
        if upload.size > limit:
            return _bad(f"The frame is {upload.size} bytes; at most {limit} are accepted.")
        data = upload.read()
        try:
            frame_check(data)
        except FrameError as exc:
            return _bad(str(exc))
        return serializer.validated_data, data


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
        read = self.one_frame(request)
        if isinstance(read, Response):
            return read
        fields, data = read
        attempt = services.checkin_attempt_create(
            kiosk=request.auth, frame=data, requested_kind=fields["kind"]
        )
        body = CheckinAttemptOutput(attempt).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class CheckinDetailApi(KioskApi):
    """Return the state and outcome of one of this kiosk's attempts."""

    throttle_classes = [KioskPollThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait",
                float,
                description="Seconds to wait for a pending attempt's outcome before answering (long "
                "polling; at most CHECKIN_POLL_WAIT_MAX_SECONDS, 0 or absent: answer at once).",
            )
        ],
        responses={200: CheckinAttemptOutput, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
        summary="Read an attempt",
    )
    def get(self, request, attempt_id):
        try:
            wait = float(request.query_params.get("wait") or 0)
        except ValueError:
            wait = -1.0
        if not (math.isfinite(wait) and wait >= 0):
            return _bad("wait: a number of seconds, such as 2.")
        attempt = get_object_or_404(services.ATTEMPT_READ_QUERYSET, pk=attempt_id, kiosk=request.auth)
        attempt = services.checkin_attempt_read(attempt=attempt, wait=wait)
        return Response(CheckinAttemptOutput(attempt).data)


class CheckinChallengeAnswerApi(KioskUploadApi):
    """Answer an attempt's liveness challenge with the burst of frames captured while it was shown."""

    class ChallengeAnswerInputSerializer(serializers.Serializer):
        frames = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True),
            allow_empty=False,
            help_text="The frames in capture order (JPEG, PNG or WebP), the first one looking ahead.",
        )
        nonce = serializers.CharField(
            max_length=64, help_text="The challenge's nonce, as the attempt's 'challenge' gave it."
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
                attempt_id=attempt_id,
                kiosk=request.auth,
                frames=frames,
                nonce=serializer.validated_data["nonce"],
            )
        except CheckinAttempt.DoesNotExist:
            return Response({"detail": "No such attempt for this kiosk."}, status=status.HTTP_404_NOT_FOUND)
        except services.ChallengeError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        body = CheckinAttemptOutput(attempt).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class CheckinPinApi(KioskUploadApi):
    """Punch by employee id and PIN when the face is not recognised; the frame is kept as evidence."""

    class PinInputSerializer(serializers.Serializer):
        frame = serializers.FileField(allow_empty_file=True, help_text="The camera frame at the moment.")
        employee_id = serializers.CharField(max_length=50)
        pin = serializers.CharField(max_length=8, help_text="4 to 8 digits, set by HR.")
        kind = serializers.ChoiceField(
            choices=["", *rules.KINDS], required=False, default="", help_text="Empty to decide by the rules."
        )

    INPUT = PinInputSerializer

    @extend_schema(
        request={"multipart/form-data": PinInputSerializer},
        responses={201: CheckinAttemptOutput, 400: ERROR, 401: ERROR, 403: ERROR, 423: ERROR, 429: ERROR},
        summary="Punch by PIN",
    )
    def post(self, request):
        read = self.one_frame(request)
        if isinstance(read, Response):
            return read
        fields, data = read
        try:
            attempt = services.checkin_pin_punch(
                kiosk=request.auth,
                employee_id=fields["employee_id"],
                pin=fields["pin"],
                frame=data,
                requested_kind=fields["kind"],
            )
        except services.PinError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        return Response(CheckinAttemptOutput(attempt).data, status=status.HTTP_201_CREATED)


class CheckinChoiceApi(KioskApi):
    """Record what a person recognised at an explicit kiosk chose: check in or out, start or end a break."""

    throttle_classes = [KioskPollThrottle]

    class ChoiceInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=list(rules.KINDS), help_text="What the person chose.")

    INPUT = ChoiceInputSerializer

    @extend_schema(
        request=ChoiceInputSerializer,
        responses={200: CheckinAttemptOutput, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR,
                   410: ERROR, 429: ERROR},
        summary="Confirm a person's choice",
    )  # fmt: skip
    def post(self, request, attempt_id):
        serializer = self.INPUT(data=request.data)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            return _bad(f"{field}: {errors[0]}")
        try:
            attempt = services.checkin_choice_confirm(
                attempt_id=attempt_id, kiosk=request.auth, kind=serializer.validated_data["kind"]
            )
        except CheckinAttempt.DoesNotExist:
            return Response({"detail": "No such attempt for this kiosk."}, status=status.HTTP_404_NOT_FOUND)
        except services.KioskAnswerError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        return Response(CheckinAttemptOutput(attempt).data)


def _bad(reason: str) -> Response:
    return Response({"detail": reason}, status=status.HTTP_400_BAD_REQUEST)
