"""benchmarks.enrolment_latency: its medians and its memory reading (the benchmark itself runs the stack)."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from benchmarks import enrolment_latency

# Holds 100 MB (written, so resident) until its stdin closes.
CHILD = "import sys; b = b'x' * (100 * 2**20); print(flush=True); sys.stdin.read()"
# Starts CHILD and waits, as a Celery worker's main process leaves the work (and the memory) to its
# pool's child.
PARENT = f"""
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
child.stdout.readline()
print(flush=True)
sys.stdin.read()
child.communicate(b"")
"""


def test_medians_leave_out_what_a_failed_repeat_lacks():
    """A repeat that was never named counts as a failure and adds nothing to the medians."""
    args = SimpleNamespace(people=100, photos_each=5, frame_every=0.35)
    repeats = [
        {"accepted_to_named_s": 10.0, "run_s": 4.0, "delete_to_not_named_s": 1.0},
        {"accepted_to_named_s": 14.0, "run_s": 6.0, "delete_to_not_named_s": 3.0},
        {"error": "not named within 300 s"},
    ]
    figures = enrolment_latency.summary(
        repeats, args, seed_seconds=1.0, gallery_version=SimpleNamespace(training_seconds=0.5)
    )
    assert figures["medians"]["accepted_to_named_s"] == 12.0
    assert figures["medians"]["delete_to_not_named_s"] == 2.0
    assert figures["medians"]["fit_s"] is None
    assert figures["failures"] == 1


def test_peak_memory_includes_the_child_that_does_the_work():
    """A process whose child holds 100 MB peaks at 100 MB or more, though the process itself holds little."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        parent.stdout.readline()  # the child holds its 100 MB
        status = Path(f"/proc/{parent.pid}/status").read_text()
        own_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        assert own_kb < 50 * 1024
        assert enrolment_latency.peak_rss_mb(parent.pid) >= 100
    finally:
        parent.communicate(b"")
