"""Temporary: remove once attendance uses recognition.ml.synthetic.

tests/attendance/test_liveness.py imports these hand-made landmark tracks from here; they now live
in recognition.ml.synthetic (landmark_track) and the pure liveness tests in ml/test_liveness.py.
"""

from recognition.ml.synthetic import LEFT_THEN_RIGHT
from recognition.ml.synthetic import landmark_track as track

__all__ = ["LEFT_THEN_RIGHT", "track"]
