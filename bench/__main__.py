"""`make bench`: run every bench/bench_*.py and write docs/PERFORMANCE.md.

Each module has TITLE and run(quick: bool) -> str (a markdown section: method, table, ratios).
`python -m bench --quick` runs each at a tiny size (the smoke run CI does, so none can rot).

Each section runs in its own process, so its peak RSS is its own, a crash or a raise loses only that
section (the report records why; the command exits non-zero at the end), and the CPU time of the
section includes the servers it started (reaped children count towards the rusage of os.wait4).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, SERVER_USAGE, cpu_reference_ms, machine


def modules() -> list[str]:
    return sorted(
        f"bench.{info.name}"
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )


def _run_section(name: str, quick: bool, result: Path) -> int:
    """In the section's own process: run it and write what it produced (or its traceback) as JSON."""
    outcome: dict[str, object] = {"title": name}
    try:
        module = importlib.import_module(name)
        outcome["title"] = module.TITLE
        print(f"== {module.TITLE}", flush=True)  # noqa: T201
        section = module.run(quick=quick)
        print(section, flush=True)  # noqa: T201
        outcome["markdown"] = section.strip()
    except BaseException:  # reported in the section and by the exit status, never swallowed
        outcome["error"] = traceback.format_exc()
        print(outcome["error"], file=sys.stderr, flush=True)  # noqa: T201
    outcome["bench_peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome["servers"] = [[usage.peak_rss_kib, usage.cpu_seconds] for usage in SERVER_USAGE]
    result.write_text(json.dumps(outcome))
    return 1 if "error" in outcome else 0


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    markdown: str | None
    error: str | None
    wall_seconds: float
    cpu_seconds: float  # the section's process and every child it waited for (its servers)
    bench_peak_rss_kib: int
    server_peak_rss_kib: int  # the largest of its servers' (0: it started none)
    servers: int
    load_before: float
    load_after: float
    # common.cpu_reference_ms just before and just after the section: how fast the host ran it
    reference_before: float
    reference_after: float

    def summary_row(self) -> str:
        server = f"{self.server_peak_rss_kib / 1024:,.0f} ({self.servers})" if self.servers else "none"
        status = "ok" if self.error is None else "**FAILED**"
        return (
            f"| {self.title} | {status} | {self.wall_seconds:,.1f} | {self.cpu_seconds:,.1f} "
            f"| {self.bench_peak_rss_kib / 1024:,.0f} | {server} "
            f"| {self.load_before:.1f} → {self.load_after:.1f} "
            f"| {self.reference_before:.0f} → {self.reference_after:.0f} |"
        )

    def text(self) -> str:
        footer = (
            f"_Section: {self.wall_seconds:,.0f} s wall, {self.cpu_seconds:,.0f} s CPU (with its servers); "
            f"load average (1 min) {self.load_before:.1f} at start, {self.load_after:.1f} at end; "
            f"host reference {self.reference_before:.0f} ms before, {self.reference_after:.0f} ms after._"
        )
        if self.error is not None:
            body = f"**This section failed**; its numbers are missing from this run:\n\n```\n{self.error}```"
        else:
            body = self.markdown or ""
        return f"## {self.title}\n\n{body.strip()}\n\n{footer}\n"


def run_in_child(name: str, quick: bool) -> Section:
    reference_before = cpu_reference_ms()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "section.json"
        command = [sys.executable, "-m", "bench", "--section", name, "--result", str(result)]
        if quick:
            command.append("--quick")
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        outcome = json.loads(result.read_text()) if result.exists() else {}
    error = outcome.get("error")
    if error is None and "markdown" not in outcome:
        error = f"the section's process ended with status {child.returncode} and wrote no result\n"
    servers = outcome.get("servers", [])
    return Section(
        name=name,
        title=outcome.get("title", name),
        markdown=outcome.get("markdown"),
        error=error,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        bench_peak_rss_kib=outcome.get("bench_peak_rss_kib", usage.ru_maxrss),
        server_peak_rss_kib=max((peak for peak, _cpu in servers), default=0),
        servers=len(servers),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        reference_before=reference_before,
        reference_after=cpu_reference_ms(),
    )


def report(
    sections: list[Section], skipped: list[str], started: dt.datetime, reference: tuple[float, float]
) -> str:
    total_wall = sum(section.wall_seconds for section in sections)
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (python -m bench); do not edit by hand.",
        "",
        f"- Machine: {machine()}",
        f"- Run: {started.strftime('%Y-%m-%d %H:%M UTC')}, {total_wall / 60:.0f} minutes in all.",
        "- Medians and p99 are over the requests of one run; "
        "ratios compare numbers measured in that same run.",
        "- Wall-clock numbers depend on what else the machine ran: the load average (1 min) at the "
        "start and end of each section is given, and CPU times beside wall times where it matters.",
        f"- Host speed: a fixed pure-Python loop (`common.cpu_reference_ms`) took {reference[0]:.0f} ms of "
        f"CPU at the start and {reference[1]:.0f} ms at the end, and before and after each section (its "
        "last column below). The host is shared: when it is busier every figure here scales with this "
        "reference (the load average inside the machine does not show it); compare runs by it, and "
        "changes by ratios measured in one run.",
    ]
    if skipped:
        lines.append(f"- Not run this time (--skip): {', '.join(skipped)}.")
    failed = [section.title for section in sections if section.error is not None]
    if failed:
        lines.append(f"- **Failed sections** (their text below says why): {', '.join(failed)}.")
    lines += [
        "",
        "Each section runs in its own process. Peak RSS: the bench process's own (seeding data, "
        "clients) and the largest of the `resight serve` processes it started (how many in brackets).",
        "",
        "| section | status | wall s | CPU s | bench peak RSS MiB | server peak RSS MiB | load start → end "
        "| host reference ms before → after |",
        "|---|---|---|---|---|---|---|---|",
        *(section.summary_row() for section in sections),
        "",
    ]
    return "\n".join(lines) + "\n" + "\n".join(section.text() for section in sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="tiny sizes; does not write the report")
    parser.add_argument(
        "--only", help="run only modules whose name contains this (no report unless --output)"
    )
    parser.add_argument(
        "--skip", action="append", default=[], metavar="NAME", help="skip modules whose name contains NAME"
    )
    parser.add_argument("--output", type=Path, help="the report (default docs/PERFORMANCE.md)")
    parser.add_argument("--section", help=argparse.SUPPRESS)  # internal: run one module in this process
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.section:
        return _run_section(args.section, args.quick, args.result)

    started = dt.datetime.now(dt.UTC)
    reference_before = cpu_reference_ms()
    chosen = [name for name in modules() if not args.only or args.only in name]
    skipped = [name for name in chosen if any(skip in name for skip in args.skip)]
    sections = []
    for name in chosen:
        if name in skipped:
            continue
        section = run_in_child(name, args.quick)
        status = "ok" if section.error is None else "FAILED"
        print(  # noqa: T201
            f"({name}: {status}, {section.wall_seconds:.1f} s wall, {section.cpu_seconds:.1f} s CPU, "
            f"load {section.load_before:.1f} → {section.load_after:.1f})",
            flush=True,
        )
        sections.append(section)
    output = args.output
    if output is None and not args.quick and not args.only:
        output = ROOT / "docs" / "PERFORMANCE.md"
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        reference = (reference_before, cpu_reference_ms())
        output.write_text(
            report(sections, [name.removeprefix("bench.") for name in skipped], started, reference)
        )
        print(f"wrote {output}")  # noqa: T201
    failed = [section.name for section in sections if section.error is not None]
    if failed:
        print(f"failed sections: {', '.join(failed)}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
