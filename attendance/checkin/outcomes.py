"""What each check-in outcome says and does on the kiosk screen: the one table the server and kiosk.js share.

The services write an attempt's `outcome` (a CheckinAttempt.Outcome code) and its `message`; the kiosk
page receives this table as JSON (templates/kiosk/kiosk.html), so static/kiosk/kiosk.js copies no code
and no sentence. A new outcome is a new row here; the kiosk then knows how to show it.
"""

from __future__ import annotations

from attendance.models import CheckinAttempt

Outcome = CheckinAttempt.Outcome

# The sentences the services store as an attempt's message (the recorded and "already" ones are
# built with the person's name and time in checkin.services).
NO_FACE_MESSAGE = "Please look at the camera"
UNKNOWN_MESSAGE = "Not recognised: please try again or see HR"
# An unknown face that was far too small or too large in the frame says what to do instead.
UNKNOWN_HINT_MESSAGES = {
    "closer": "Not recognised: please step closer to the camera",
    "back": "Not recognised: please step back a little",
}
CONFIRMING_MESSAGE = "Hold still…"
CHOOSING_MESSAGE = "{name} · {employee_id}"
PIN_REFUSED_MESSAGE = "Employee id or PIN not accepted: please try again or see HR"
PIN_LOCKED_MESSAGE = "Too many wrong PINs: the PIN is locked until {time}. Please see HR."
LIVENESS_FAILED_MESSAGE = "Could not confirm: please try again and turn your head as shown"
LIVENESS_TOO_LATE_MESSAGE = "Too late: please try again"
LIVENESS_PASSIVE_MESSAGE = "Not confirmed: this looks like a photo or a screen. Please show your own face"
CHECKING_MESSAGE = "Checking…"
QUEUE_UNAVAILABLE_MESSAGE = "The recognition queue is unavailable."
EXPIRED_MESSAGE = "Expired before a worker took it."

# What a recorded event's attempt says, by event kind: its outcome and its sentence.
RECORDED: dict[str, tuple[str, str]] = {
    "in": (Outcome.CHECKED_IN, "{greeting}, {name}. Checked in at {time}"),
    "out": (Outcome.CHECKED_OUT, "Goodbye, {name}. Checked out at {time}"),
    "break_start": (Outcome.BREAK_STARTED, "Enjoy your break, {name}. Break started at {time}"),
    "break_end": (Outcome.BREAK_ENDED, "Welcome back, {name}. Break ended at {time}"),
}
# The outcomes after which the kiosk may show who was recognised (first name, employee id).
PERSON_SHOWN = frozenset(
    {
        Outcome.CHECKED_IN,
        Outcome.CHECKED_OUT,
        Outcome.BREAK_STARTED,
        Outcome.BREAK_ENDED,
        Outcome.ALREADY,
        Outcome.CHOOSING,
    }
)
# What an "already" attempt says, by the kind of the event it repeats.
ALREADY_MESSAGES: dict[str, str] = {
    "in": "{name}, you are already checked in at {time}",
    "out": "{name}, you are already checked out at {time}",
    "break_start": "{name}, you are already on a break since {time}",
    "break_end": "{name}, you already ended your break at {time}",
}

# An event recorded: who (first name, employee id, time in the site's zone) and a short beep. who: show
# the attempt's `who` line as the detail; beep: the tone of a short WebAudio beep ("success" or "info").
RECORDED_ROW = {"tone": "success", "screen": "recorded", "hold_ms": 5000, "disarm": True, "who": True,
                "beep": "success"}  # fmt: skip

# How the kiosk shows each outcome. tone: the colour; screen: the page's data-state (tests and CSS read
# it); hold_ms: how long the result stays before the next frame is sent; disarm: forget an "in"/"out"
# button press; face_seen: keep sending frames at the fast pace; quiet_after_ms: show the message only
# if a face was seen this recently (no_face would otherwise flash on an empty hallway); pause_ms: send
# no frame for this long; text/detail: show these KIOSK_TEXTS instead of the attempt's message.
KIOSK_OUTCOMES: dict[str, dict] = {
    Outcome.CHECKED_IN: {**RECORDED_ROW},
    Outcome.CHECKED_OUT: {**RECORDED_ROW},
    Outcome.BREAK_STARTED: {**RECORDED_ROW},
    Outcome.BREAK_ENDED: {**RECORDED_ROW},
    Outcome.ALREADY: {
        "tone": "info",
        "screen": "already",
        "hold_ms": 5000,
        "disarm": True,
        "who": True,
        "beep": "info",
    },
    Outcome.CONFIRMING: {"tone": "", "screen": "confirming", "face_seen": True},
    Outcome.UNKNOWN: {"tone": "warning", "screen": "unknown", "face_seen": True, "offer_pin": True},
    Outcome.NO_FACE: {"tone": "", "screen": "no-face", "quiet_after_ms": 4000},
    Outcome.LIVENESS_FAILED: {"tone": "warning", "screen": "liveness-failed", "hold_ms": 2000},
    Outcome.CHALLENGE: {"tone": "challenge", "screen": "challenge", "challenge": True},
    # An explicit kiosk: the person chooses what to record (attempt.choice holds the choices).
    Outcome.CHOOSING: {"tone": "choice", "screen": "choosing", "choice": True},
    # A fault, not an answer about the person: a text of the kiosk's own instead of the message.
    Outcome.ERROR: {
        "tone": "warning",
        "screen": "busy",
        "pause_ms": 3000,
        "text": "busy",
        "detail": "busy_detail",
    },
}

# What the kiosk says on its own, outside an outcome (the camera, the network, a challenge under way).
KIOSK_TEXTS: dict[str, str] = {
    "idle": "Look at the camera to check in or out",
    "armed_in": "Checking in: look at the camera",
    "armed_out": "Checking out: look at the camera",
    "busy": "System busy",
    "busy_detail": "Please try again in a moment",
    "busy_wait_detail": "Please wait a moment or see HR",
    "offline": "Connection lost",
    "retrying": "Retrying…",
    "no_camera_api": "This browser cannot use a camera",
    "no_camera_api_detail": "Use a current Chromium, Firefox or Safari over HTTPS.",
    "camera_unavailable": "Camera unavailable",
    "camera_lost": "Camera disconnected",
    "reconnecting": "Reconnecting…",
    "unregistered": "This browser is not registered as a kiosk",
    "not_registered": "This kiosk is not registered",
    "revoked": "This kiosk has been revoked",
    "revoked_detail": "It no longer records anything. A staff member can register this browser again.",
    "challenge_start": "Look straight at the camera",
    "challenge_start_detail": "Then follow the instructions on screen",
    "challenge_step": "Step {n} of {total}",
    "checking": CHECKING_MESSAGE,
    "checking_detail": "Thank you, look at the camera again",
    "too_slow": "Too slow: please try again",
    "not_confirmed": LIVENESS_FAILED_MESSAGE,
    "pin": "Type your employee id and PIN",
    "pin_detail": "Your photo is kept with a PIN punch for HR to review",
    "who": "{name} · {employee_id} · {time}",
    "who_no_time": "{name} · {employee_id}",
    "choice_in": "Check in",
    "choice_out": "Check out",
    "choice_break_start": "Start break",
    "choice_break_end": "End break",
    "choice_detail": "{choice} in {seconds} s, or tap another",
}


def kiosk_table() -> dict:
    """Return what the kiosk page needs to show outcomes: the outcome table and its own texts."""
    outcomes = {str(code): {"outcome": str(code), **row} for code, row in KIOSK_OUTCOMES.items()}
    # An attempt that expired or failed in the worker has no outcome code of its own: the kiosk shows
    # the same as for an error.
    for state in (CheckinAttempt.State.EXPIRED, CheckinAttempt.State.FAILED):
        outcomes[str(state)] = {"outcome": str(state), **KIOSK_OUTCOMES[Outcome.ERROR]}
    return {"outcomes": outcomes, "texts": KIOSK_TEXTS}
