"""Hard time limits in a worker whose pool runs tasks in threads (attendance_site.task_watchdog)."""

import logging
import uuid

import pytest

from attendance_site.task_watchdog import EXIT_CODE, TaskWatchdog, hard_limit_of
from tests.fixtures.services import process_env, start_worker, stop_process, wait_for


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watching_dog(clock: FakeClock, exits: list[int]) -> TaskWatchdog:
    dog = TaskWatchdog(clock=clock, exit_process=exits.append, poll_seconds=3600)
    dog.start()  # its thread checks once, finds nothing, then sleeps for the rest of the test
    return dog


def test_a_task_past_its_hard_limit_ends_the_process_with_the_reason_logged(caplog):
    clock, exits = FakeClock(), []
    dog = watching_dog(clock, exits)
    dog.started(task_id="a", name="attendance.checkin_attempt_process", limit=30)
    dog.started(task_id="b", name="attendance.checkin_liveness_process", limit=60)
    clock.now += 29
    assert dog.check() and exits == []
    clock.now += 2  # 31 s: past the first task's limit, not the second's
    with caplog.at_level(logging.CRITICAL, logger="attendance_site.task_watchdog"):
        assert not dog.check()
    assert exits == [EXIT_CODE]
    assert "attendance.checkin_attempt_process (a) has run 31 s" in caplog.text
    assert "hard time limit of 30 s" in caplog.text and "1 task(s) overdue" in caplog.text


def test_finished_unlimited_and_earlier_tasks_are_not_held_against_the_worker():
    clock, exits = FakeClock(), []
    dog = TaskWatchdog(clock=clock, exit_process=exits.append, poll_seconds=3600)
    dog.started(task_id="before", name="waited for the models to load", limit=1)  # not watching yet
    dog.start()
    dog.started(task_id="done", name="x", limit=1)
    dog.finished(task_id="done")
    dog.started(task_id="free", name="no limit", limit=None)
    clock.now += 1000
    assert dog.check() and exits == [] and dog.overdue() == []


def test_the_hard_limit_comes_from_the_message_then_the_task_then_the_default():
    class Request:
        timelimit = (None, None)

    class Task:
        request = Request()
        time_limit = 30

    assert hard_limit_of(Task(), default=99) == 30
    Task.request.timelimit = (12, 10)
    assert hard_limit_of(Task(), default=99) == 12
    Task.request.timelimit, Task.time_limit = None, None
    assert hard_limit_of(Task(), default=99) == 99


@pytest.mark.django_db(transaction=True)
def test_a_threads_pool_worker_with_a_hung_task_exits_for_its_supervisor(media_root, tmp_path):
    """A real worker (`-P threads`, as the recognition worker runs) whose task never returns exits with
    EXIT_CODE shortly after the task's hard limit (1 s), saying which task, instead of hanging."""
    from attendance_site.celery import app

    queue = f"hang-{uuid.uuid4().hex[:8]}"
    worker = start_worker(
        process_env(media_root, tmp_path),
        tmp_path / "worker.log",
        queues=queue,
        pool=("-P", "threads", "-c", "2"),
        app="tests.support.hang_worker",
    )
    try:
        wait_for(lambda: "ready." in worker.log(), timeout=120, what=f"the worker; log:\n{worker.log()}")
        app.send_task("tests.hang_forever", queue=queue)
        code = wait_for(lambda: worker.process.poll(), timeout=60, what="the hung worker to exit")
        assert code == EXIT_CODE, worker.log()[-3000:]
        assert "task tests.hang_forever" in worker.log() and "past its hard time limit of 1 s" in worker.log()
    finally:
        stop_process(worker.process)
