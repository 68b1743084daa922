"""Which face of a photo with several is "the" face: the kiosk's largest, or LFW's nearest the centre."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from recognition.ml.pipeline import choose_face


def face(x, y, side):
    return SimpleNamespace(box=(x, y, side, side))


# Largest first, as the detector returns them: a large bystander at the edge, the subject in the middle.
FACES = [face(0, 0, 120), face(95, 95, 60), face(200, 10, 30)]


def test_largest_is_the_first_face():
    """'largest' keeps the detector's first face (the person nearest the kiosk's camera)."""
    assert choose_face(FACES, (250, 250, 3), "largest") is FACES[0]


def test_centre_is_the_face_nearest_the_middle():
    """'centre' picks the face whose box centre is nearest the photo's centre, whatever its size."""
    assert choose_face(FACES, (250, 250, 3), "centre") is FACES[1]


def test_an_unknown_choice_is_refused_with_the_choices():
    """A misspelt choice is a ValueError naming the valid ones."""
    with pytest.raises(ValueError, match="largest, centre"):
        choose_face(FACES, (250, 250, 3), "center")
