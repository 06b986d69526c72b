"""This domain's `resight` commands."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer

from resight.config import Settings
from resight.db import make_engine, make_session_factory, transaction
from resight.events.rebuild import rebuild_rollups

rollups_app = typer.Typer(help="KPI rollups (per IST hour and per IST day).", no_args_is_help=True)


def _parse_since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-28T00:00:00+05:30")
    return moment


@rollups_app.command("rebuild")
def rebuild(
    since: Annotated[
        str | None,
        typer.Option(
            help="Rebuild from the IST hour containing this time (ISO 8601 with offset); default all."
        ),
    ] = None,
) -> None:
    """Recompute the rollup tables from raw events, in one transaction."""
    start = _parse_since(since)
    engine = make_engine(Settings().database_url)
    try:
        started = time.perf_counter()
        with transaction(make_session_factory(engine)) as session:
            rows = rebuild_rollups(session, start)
        typer.echo(
            f"rebuilt {rows} product-hour rollups"
            + ("" if start is None else f" since {start.isoformat()}")
            + f" in {time.perf_counter() - started:.1f} s"
        )
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Add this domain's commands (top-level or as a sub-app) to the `resight` CLI."""
    app.add_typer(rollups_app, name="rollups")
