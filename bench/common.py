"""Shared benchmark helpers: a real uvicorn on a free port, timing statistics, the machine."""

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


@contextlib.contextmanager
def running_server(
    database_url: str, *, env: dict[str, str] | None = None, workers: int = 1, start_timeout: float = 60
) -> Iterator[str]:
    """`resight serve` on a free port against an already migrated database; yields its base URL."""
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
        yield base
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
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
