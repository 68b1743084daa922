"""The project's Celery app plus one task that never returns: a worker started with
`celery -A tests.support.hang_worker` shows what a hung call does to a pool of threads."""

import time

from attendance_site.celery import app

__all__ = ["app", "hang_forever"]


@app.task(name="tests.hang_forever", time_limit=1)
def hang_forever() -> None:
    """Stand in for a TensorFlow call that never returns (a pool of threads cannot stop it)."""
    time.sleep(3600)
