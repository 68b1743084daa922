"""The Celery queues, by kind of work. No Celery import: models, services and settings may use it."""

from __future__ import annotations

import enum


class Queue(enum.StrEnum):
    """Queues by kind of work: a slow retrain must never delay a check-in."""

    RECOGNITION = "recognition"  # latency-bound: kiosk frames; workers keep the engine warm
    ENROLMENT = "enrolment"  # throughput-bound: detect, check and embed HR's photos
    TRAINING = "training"  # throughput-bound: fit a new recogniser version
    DEFAULT = "default"  # housekeeping: retention, expiry, pings
