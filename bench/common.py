"""Shared benchmark helpers: a real uvicorn on a free port, timing statistics, the machine, and what
the servers a bench started used (peak RSS and CPU, read from /proc just before each is stopped)."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Stats:
    count: int
    median_ms: float
    p99_ms: float

    def row(self, name: str) -> str:
        return f"| {name} | {self.count} | {self.median_ms:.2f} | {self.p99_ms:.2f} |"


def stats(seconds: Sequence[float]) -> Stats:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Stats(len(ordered), statistics.median(ordered) * 1000, p99 * 1000)


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, {platform.system()}"


def cpu_reference_ms(repeats: int = 5) -> float:
    """CPU ms of a fixed pure-Python workload (median of `repeats`): this host's speed at the time.
    The machines are shared: the same code measured hours apart can differ by half when the host is
    busier, with the load average inside the machine unchanged; the reference tells such runs apart."""
    runs = []
    for _ in range(repeats):
        started = time.process_time()
        sum(i * i for i in range(2_000_000))
        runs.append(time.process_time() - started)
    return statistics.median(runs) * 1000


@dataclass(frozen=True)
class ProcessUsage:
    """A process and its descendants: the largest peak RSS (VmHWM) among them and their CPU seconds."""

    peak_rss_kib: int
    cpu_seconds: float


# Every server stopped through stop_process, in order: the harness reports them per section.
SERVER_USAGE: list[ProcessUsage] = []


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        found.append(parent)
        queue += children.get(parent, [])
    return found


def process_usage(pid: int) -> ProcessUsage:
    """Peak RSS and CPU time so far of `pid` and every process below it (uvicorn's workers)."""
    peak, ticks = 0, 0
    for member in _descendants(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ProcessUsage(peak, ticks / os.sysconf("SC_CLK_TCK"))


@dataclass(frozen=True)
class Server:
    base: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def running_server(
    database_url: str, *, env: dict[str, str] | None = None, workers: int = 1, start_timeout: float = 60
) -> Iterator[str]:
    """`resight serve` on a free port against an already migrated database; yields its base URL."""
    with started_server(database_url, env=env, workers=workers, start_timeout=start_timeout) as server:
        yield server.base


@contextlib.contextmanager
def started_server(
    database_url: str, *, env: dict[str, str] | None = None, workers: int = 1, start_timeout: float = 60
) -> Iterator[Server]:
    """As running_server, yielding the process too (for /proc/<pid>/status readings)."""
    port = free_port()
    process_env = {**os.environ, "DATABASE_URL": database_url, "RESIGHT_LOG_LEVEL": "warning", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "resight", "serve", "--port", str(port), "--workers", str(workers)],
        env=process_env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, time.monotonic() + start_timeout)
        yield Server(base, process)
    finally:
        stop_process(process)


def wait_until_serving(base: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll GET / until it answers 200; fail if the process exits or the deadline passes."""
    while True:
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"resight did not start at {base} (exit {process.poll()})")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds; what the process used
    until then is appended to SERVER_USAGE."""
    if process.poll() is not None:
        return
    SERVER_USAGE.append(process_usage(process.pid))
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
