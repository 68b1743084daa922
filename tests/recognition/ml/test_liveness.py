"""The pure liveness check on hand-made landmark tracks (no engine, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.ml.liveness import LivenessConfig, liveness_check
from recognition.ml.synthetic import LEFT_THEN_RIGHT
from recognition.ml.synthetic import camera_noise as noise
from recognition.ml.synthetic import landmark_face as face
from recognition.ml.synthetic import landmark_track as track

ANA = np.eye(128, dtype=np.float32)[0]
BEN = np.eye(128, dtype=np.float32)[1]


def test_turn_in_the_asked_order_passes():
    """A head turning to the person's left (image right, + yaw) then right passes, with its figures."""
    verdict = liveness_check(track(LEFT_THEN_RIGHT), ["left", "right"])
    assert verdict.passed and verdict.reason == "ok"
    assert verdict.figures["reached"] == ["left", "right"]
    assert 35 < verdict.figures["yaw_range_deg"] < 50  # about 22 + 20 degrees


def test_turn_in_the_other_order_fails():
    """The same turn asked in the opposite order is a wrong direction (a replayed turn)."""
    verdict = liveness_check(track(LEFT_THEN_RIGHT), ["right", "left"])
    assert (verdict.passed, verdict.reason) == (False, "wrong_direction")


def test_still_face_fails():
    """Landmark jitter of a still photo never reaches the minimum turn."""
    rng = np.random.default_rng(1)
    verdict = liveness_check(track(rng.normal(0, 2, 10)), ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "no_turn")


def test_photo_moved_sideways_fails():
    """A box that travels without any yaw change is reported as moved sideways."""
    faces = noise([face(0, dx=dx) for dx in (0, 0, 20, 40, 60, 40, 0, -20, -40, -60)])
    verdict = liveness_check(faces, ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "moved_sideways")
    assert verdict.figures["max_shift_face_widths"] > 0.5


def test_photo_rotated_in_plane_fails():
    """Rolling a photo changes the eye line, not the yaw."""
    faces = noise([face(0, roll=r) for r in (0, 0, 5, 10, 15, 10, 0, -10, -15, -10)])
    verdict = liveness_check(faces, ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "rotated_in_plane")


def test_face_swapped_mid_sequence_fails():
    """A second identity half way (embedding far from the first frame) fails even with a perfect turn."""
    faces = track(LEFT_THEN_RIGHT[:5]) + track(LEFT_THEN_RIGHT[5:], who=BEN)
    verdict = liveness_check(faces, ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "identity_changed")


def test_recogniser_naming_someone_else_fails():
    """Frames recognised as another person than the one challenged fail."""
    faces = track(LEFT_THEN_RIGHT[:5], person=1) + track(LEFT_THEN_RIGHT[5:], person=2)
    verdict = liveness_check(faces, ["left", "right"], person_id=1)
    assert (verdict.passed, verdict.reason) == (False, "identity_changed")
    assert liveness_check(track(LEFT_THEN_RIGHT, person=1), ["left", "right"], person_id=1).passed


def test_flat_picture_narrowing_more_than_its_yaw_fails():
    """A face that narrows far more than cos(yaw) while 'turning' is taken for a tilted flat picture."""
    faces = noise([face(y, narrow=0.6 if y else 1.0) for y in LEFT_THEN_RIGHT])
    verdict = liveness_check(faces, ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "flat_picture")


def test_too_few_faces_fail():
    """Frames without a face cannot prove anything: too few frames, or the face lost in most of them."""
    assert liveness_check([face(0), None, face(20)], ["left"]).reason == "too_few_frames"
    faces = [face(0), None, None, face(20), None, None, face(-20), None, face(0)]
    assert liveness_check(faces, ["left", "right"], LivenessConfig(min_frames=3)).reason == "face_lost"


def test_unknown_direction_is_refused():
    """A direction other than left or right is a programming error, not a failed check."""
    with pytest.raises(ValueError, match="directions"):
        liveness_check(track(LEFT_THEN_RIGHT), ["up"])


# --- A turn that a set of photos cannot fake (issue 13, finding 1) ---------------------------------

# One photo turned 16 degrees and its mirror image, sent as [P, Pm, P, P, P, Pm, Pm, Pm]: it passed.
MIRROR_SWAP = [16, -16, 16, 16, 16, -16, -16, -16]


def test_a_photo_and_its_mirror_image_answering_the_challenge_fail():
    """The reported attack: the reference averages to "ahead" but jumps 32 degrees between frames."""
    verdict = liveness_check(track(MIRROR_SWAP), ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "jump")
    assert verdict.figures["reference_spread_deg"] > 25


def test_the_same_picture_sent_twice_fails():
    """Two frames with the very same box, landmarks and embedding are one picture sent twice."""
    faces = track(LEFT_THEN_RIGHT)
    faces[4] = faces[3]
    verdict = liveness_check(faces, ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "repeated_frame")


def test_a_jump_faster_than_a_head_turns_fails():
    """From 22 degrees one way to 30 the other between two frames is no head turning."""
    verdict = liveness_check(track([0, 0, 8, 18, 22, -30, -25, -20]), ["left", "right"])
    assert (verdict.passed, verdict.reason) == (False, "jump")
    assert verdict.figures["max_step_deg"] > 45


def test_with_intermediate_angles_required_a_set_of_photos_fails_and_a_turn_passes():
    """Requiring an angle part way before each direction refuses frontal + turned + mirrored photos."""
    strict = LivenessConfig(intermediate_fraction=0.25)
    photos = liveness_check(track([0, 0, 16, 16, 16, 0, -16, -16]), ["left", "right"], strict)
    assert (photos.passed, photos.reason) == (False, "jump")
    assert photos.figures["skipped_to"] == ["left"]  # the frontal photo is "part way" back to the right
    assert liveness_check(track(LEFT_THEN_RIGHT), ["left", "right"], strict).passed


def test_a_continuous_turn_sampled_every_300_ms_passes_the_part_way_rule():
    """A head easing to 22 deg in 0.9 s, seen every 300 ms from the instruction on, skips the 3-12 deg
    band but passes part way (13 deg of 22; -3.7 deg on the swing from +22 to -22)."""
    strict = LivenessConfig(intermediate_fraction=0.25)
    turn = [0, 0, 0, 2.6, 13, 21.3, 22, 22, 22, 17, -3.7, -20.7, -22, -22]
    verdict = liveness_check(track(turn), ["left", "right"], strict)
    assert verdict.passed, verdict
    assert verdict.figures["skipped_to"] == []


@pytest.mark.parametrize(
    "yaws",
    [[0, 0, 0, 0, 16, 16, 16, 16, 0, 0, -16, -16], [0, 0, 0, 20, 20, 20, 10, -20, -20, -20]],
    ids=["three-photos", "straight-to-the-first-side"],
)
def test_a_turn_that_jumps_to_its_first_side_fails_the_part_way_rule(yaws):
    """However many frames the kiosk sends, a first turn from ahead straight to the full angle is a jump."""
    strict = LivenessConfig(intermediate_fraction=0.25)
    verdict = liveness_check(track(yaws), ["left", "right"], strict)
    assert (verdict.passed, verdict.reason, verdict.figures["skipped_to"]) == (False, "jump", ["left"])
