"""What every benchmark shares: the `--json PATH` option, the figures' context, timing, throwaway databases.

A benchmark prints a table and, with `--json PATH`, writes the same figures with the context a figure
needs to be read (load average, cores, git commit, time). Benchmarks never run against a database they
did not create: `throwaway_database()` makes a fresh PostgreSQL database and drops it afterwards, and
whatever `DATABASE_URL` says is ignored (it could be production).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
# The PostgreSQL server benchmarks create their databases on (not a database: a server).
DEFAULT_POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE_PREFIX = "bench_"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """Return an argument parser with the benchmark's description and the common `--json PATH`."""
    lines = (doc or "").strip().splitlines()
    result = argparse.ArgumentParser(
        description=lines[0] if lines else None,
        epilog="\n".join(lines[1:]).strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    return result


def context() -> dict:
    """Return what a reader needs to judge a figure: load average, cores, commit, time, Python."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "commit": commit,
        "python": sys.version.split()[0],
    }


def emit(name: str, figures: dict, *, json_path: Path | None) -> None:
    """Write `figures` with their context to `json_path` (when given) and say where."""
    if json_path is None:
        return
    json_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "context": context(), "figures": figures}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"Figures written to {json_path}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> None:
    """Print rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if title:
        print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores)")


def median_ms(fn: Callable[[], object], *, runs: int = 20, warmup: int = 3) -> float:
    """Return the median wall time of `fn` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def percentile(values: Sequence[float], share: float) -> float | None:
    """Return the `share` (0..1) percentile of values by nearest rank, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextlib.contextmanager
def throwaway_database(server_url: str | None = None) -> Iterator[str]:
    """Create a fresh PostgreSQL database for one benchmark run, yield its URL, drop it afterwards.

    `server_url` (or BENCH_POSTGRES_URL) names a server through its maintenance database; the benchmark's
    own database is `bench_<random>` on it. Nothing else on that server is touched.
    """
    import psycopg2

    server_url = server_url or os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_SERVER
    name = f"{BENCH_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(server_url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise SystemExit(
            f"cannot reach PostgreSQL at {server_url}: {exc}".strip()
            + "\nstart it (make services) or point BENCH_POSTGRES_URL at a server"
        ) from exc
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def use_database(url: str) -> None:
    """Point this process's Django at `url`, refusing anything but a database a benchmark created.

    Call before django.setup(). A benchmark that writes rows must never be aimed at a real database by
    a stray DATABASE_URL in the environment.
    """
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(BENCH_DATABASE_PREFIX):
        raise SystemExit(
            f"refusing to run against database {name!r}: benchmarks only use databases they create "
            f"({BENCH_DATABASE_PREFIX}*, see benchmarks.common.throwaway_database)"
        )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")


# Which processes' CPU time a check-in figure is split into: (group, words that must all appear in the
# process's command line). The first group that matches takes the process.
CPU_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("web", ("gunicorn",)),
    ("recognition", ("celery", "recognition")),
    ("other workers", ("celery",)),
    ("postgresql", ("postgres",)),
    ("redis", ("redis-server",)),
    ("redis", ("valkey",)),
)


def cpu_seconds_by_group(pids_extra: dict[str, int] | None = None) -> dict[str, float]:
    """Return the CPU seconds (user + system) used so far by this machine's processes, summed per
    CPU_GROUPS group, plus "benchmark" (this process) and `pids_extra` ({group: pid}).

    Read from /proc; two snapshots' difference says where the cores went during a run (processes that
    started or ended in between count only for the time they were seen). Linux only: {} elsewhere.
    """
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    totals: dict[str, float] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return totals
    own = os.getpid()
    extra = {pid: group for group, pid in (pids_extra or {}).items()}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        if pid == own:
            group = "benchmark"
        elif pid in extra:
            group = extra[pid]
        else:
            group = next((g for g, words in CPU_GROUPS if all(w in cmdline for w in words)), None)
        if group:
            totals[group] = totals.get(group, 0.0) + seconds
    return totals


def cpu_difference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Return after - before per group (CPU seconds used between two snapshots)."""
    return {group: max(0.0, after.get(group, 0.0) - before.get(group, 0.0)) for group in after}
