"""Temporary: remove once attendance uses recognition.services.

The old home of training and frame matching, split into recognition.training and
recognition.matching behind the recognition.services facade. Only attendance/services.py
(frame_recognise, recognise_embedding) and attendance/bench_checkin.py (recogniser_train) still
import it; nothing new may.
"""

from recognition.matching import embedding_identify as recognise_embedding
from recognition.matching import frame_recognise
from recognition.training import recogniser_train

__all__ = ["frame_recognise", "recognise_embedding", "recogniser_train"]
