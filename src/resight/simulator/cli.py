"""This domain's `resight` commands: demo-data, demo-truth, demo-setup and simulate."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from sqlalchemy import Engine

from resight.config import Settings
from resight.db import make_engine, utcnow
from resight.errors import ResightError
from resight.india import paise_to_rupees

DEFAULT_PRODUCTS = 2_000
DEFAULT_DAYS = 60
DEFAULT_SEED = 42


def parse_time(value: str | None, *, option: str) -> dt.datetime:
    if value is None:
        return utcnow()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from exc
    if moment.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-28T18:30:00+05:30", param_hint=option)
    return moment


def _write_world(
    settings: Settings, *, products: int, days: int, seed: int, end: dt.datetime, append: bool, quiet: bool
) -> None:
    from resight.integrations.signatures import fernet_for
    from resight.simulator.writer import write_demo_world

    engine = make_engine(settings.database_url)
    started = utcnow()
    try:
        require_migrated(engine)
        if not append:
            refuse_if_products(engine)
        with typer.progressbar(length=days * 24, label="Simulating", hidden=quiet) as bar:
            last = [0]

            def advance(done: int, _total: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            with engine.begin() as connection:
                summary = write_demo_world(
                    connection,
                    fernet_for(settings.resolved_secret_key()),
                    n_products=products,
                    days=days,
                    seed=seed,
                    end=end,
                    append=append,
                    progress=advance,
                )
    except ResightError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    seconds = (utcnow() - started).total_seconds()
    typer.echo(
        f"demo world {summary.world_id}: {summary.products:,} products, {summary.events:,} events "
        f"({summary.orders:,} orders), {summary.history_rows:,} history rows, "
        f"{summary.start.isoformat()} to {summary.end.isoformat()}, in {seconds:.1f} s"
    )


def require_migrated(engine: Engine) -> None:
    from resight.migrations import runner

    try:
        runner.ensure_at_head(engine)
    except runner.DatabaseNotMigrated as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def refuse_if_products(engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from resight.simulator.writer import count_products

    with Session(engine) as session:
        existing = count_products(session)
    if existing:
        typer.echo(
            f"error: the database already has {existing:,} products; demo data is only written into an "
            "empty database (pass --append to add a demo world beside them)",
            err=True,
        )
        raise typer.Exit(1)


def demo_data(
    products: Annotated[int, typer.Option(min=1, help="Number of products.")] = DEFAULT_PRODUCTS,
    days: Annotated[int, typer.Option(min=1, max=3660, help="Days of history.")] = DEFAULT_DAYS,
    seed: Annotated[
        int, typer.Option(min=0, help="Random seed: the same seed writes the same rows.")
    ] = DEFAULT_SEED,
    end: Annotated[
        str | None, typer.Option(help="End of the history (ISO 8601 with offset); default now.")
    ] = None,
    append: Annotated[
        bool,
        typer.Option("--append", help="Write even if the database has products (adds a new demo world)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Write a simulated marketplace history (stores, products, events, price and stock changes)."""
    _write_world(
        Settings(),
        products=products,
        days=days,
        seed=seed,
        end=parse_time(end, option="--end"),
        append=append,
        quiet=quiet,
    )


def demo_setup() -> None:
    """First start of the demo: write the default demo world if the database has no products yet."""
    from sqlalchemy.orm import Session

    from resight.simulator.writer import count_products

    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        require_migrated(engine)
        with Session(engine) as session:
            existing = count_products(session)
    finally:
        engine.dispose()
    if existing:
        typer.echo(f"the database has {existing:,} products already; no demo data added")
    else:
        _write_world(
            settings, products=DEFAULT_PRODUCTS, days=DEFAULT_DAYS, seed=DEFAULT_SEED, end=utcnow(),
            append=False, quiet=False,
        )  # fmt: skip
    typer.echo("live traffic (make run starts it): resight simulate --url URL --rate 2 --faults 0.05")


def demo_truth(
    at: Annotated[str | None, typer.Option(help="The moment (ISO 8601 with offset); default now.")] = None,
    world_id: Annotated[int | None, typer.Option(help="Which demo world; default the newest.")] = None,
    output: Annotated[Path | None, typer.Option(help="CSV file; default standard output.")] = None,
) -> None:
    """The ground truth: each product's expected orders and revenue in the 24 hours from --at (CSV)."""
    from sqlalchemy.orm import Session

    from resight.simulator.demand import true_expected_orders, true_expected_revenue_paise
    from resight.simulator.load import load_world

    moment = parse_time(at, option="--at")
    engine = make_engine(Settings().database_url)
    try:
        require_migrated(engine)
        with Session(engine) as session:
            world = load_world(session, world_id)
    except ResightError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    assert world.product_ids is not None
    index = np.flatnonzero(world.product_ids >= 0)
    orders = true_expected_orders(world, index, moment)
    revenue = true_expected_revenue_paise(world, index, moment)
    handle = sys.stdout if output is None else output.open("w", newline="", encoding="utf-8")
    try:
        out = csv.writer(handle)
        out.writerow(
            [
                "product_id",
                "sku",
                "expected_orders_24h",
                "expected_revenue_24h_paise",
                "expected_revenue_24h_inr",
            ]
        )
        for i, count, paise in zip(index.tolist(), orders.tolist(), revenue.tolist(), strict=True):
            out.writerow(
                [int(world.product_ids[i]), world.sku[i], f"{count:.6f}", paise, paise_to_rupees(paise)]
            )
    finally:
        if output is not None:
            handle.close()


def simulate(
    url: Annotated[str, typer.Option(help="Base URL of the running ReSight, e.g. http://127.0.0.1:8000.")],
    rate: Annotated[float, typer.Option(min=0.01, help="Deliveries per second.")] = 5.0,
    duration: Annotated[float | None, typer.Option(min=0, help="Stop after this many seconds.")] = None,
    count: Annotated[int | None, typer.Option(min=0, help="Stop after this many deliveries.")] = None,
    faults: Annotated[
        float,
        typer.Option(min=0, max=1, help="Share of faulty deliveries: duplicates, late updates, malformed."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the delivery stream.")] = DEFAULT_SEED,
    run_id: Annotated[
        int | None,
        typer.Option(min=0, help="Makes delivery and order ids unique per run; default from the clock."),
    ] = None,
    world_id: Annotated[int | None, typer.Option(help="Which demo world; default the newest.")] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(help="PLATFORM=whsec_... signing secret (repeatable); default: read from the database."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Requests in flight at most.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    log: Annotated[Path | None, typer.Option(help="Write one JSON line per request to this file.")] = None,
    wait: Annotated[
        float, typer.Option(min=0, help="Wait up to this many seconds for the server to answer first.")
    ] = 0.0,
) -> None:
    """Send live, signed marketplace deliveries for the demo world to a running server.

    Reads the world and (unless --secret is given) the stores' signing secrets from DATABASE_URL,
    so it runs beside the server. Exits 1 if what was stored does not match what was sent.
    """
    import asyncio

    from sqlalchemy.orm import Session

    from resight.integrations.signatures import SignatureError, fernet_for, key_of
    from resight.simulator.live import Report, load_for_live, run, wait_for_server
    from resight.simulator.traffic import Plan

    settings = Settings()
    given: dict[str, bytes] = {}
    for item in secret or []:
        platform, _, value = item.partition("=")
        try:
            given[platform.strip()] = key_of(value.strip())
        except SignatureError as exc:
            raise typer.BadParameter(f"{platform}: {exc}", param_hint="--secret") from exc
    engine = make_engine(settings.database_url)
    try:
        require_migrated(engine)
        with Session(engine) as session:
            fernet = None if given else fernet_for(settings.resolved_secret_key())
            world, seller_ids, keys = load_for_live(session, fernet, world_id)
    except ResightError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    for platform, key in given.items():
        if platform not in world.store_ids:
            raise typer.BadParameter(f"no {platform} store in the demo world", param_hint="--secret")
        keys[world.store_ids[platform]] = key
    missing = sorted(p for p, store_id in world.store_ids.items() if store_id not in keys)
    if missing:
        typer.echo(f"error: no signing secret for the {', '.join(missing)} store(s)", err=True)
        raise typer.Exit(1)
    plan = Plan(
        world, seed=seed, run_id=int(utcnow().timestamp()) % 10**7 if run_id is None else run_id,
        faults=faults, clock=utcnow, seller_ids=seller_ids,
    )  # fmt: skip
    if wait and not wait_for_server(url, wait):
        typer.echo(f"error: {url} did not answer within {wait:g} s", err=True)
        raise typer.Exit(1)
    report = Report()
    handle = None if log is None else log.open("w", encoding="utf-8")
    if not as_json:
        typer.echo(f"sending to {url} at {rate}/s" + ("" if duration or count else " (Ctrl-C to stop)"))
    try:
        asyncio.run(
            run(plan, report, url=url, keys=keys, rate=rate, duration=duration, count=count,
                concurrency=concurrency, log=handle)
        )  # fmt: skip
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
    finally:
        if handle is not None:
            handle.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(report.text())
    if not report.consistent:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this domain's commands (top-level or as a sub-app) to the `resight` CLI."""
    app.command("demo-data")(demo_data)
    app.command("demo-truth")(demo_truth)
    app.command("demo-setup")(demo_setup)
    app.command("simulate")(simulate)
