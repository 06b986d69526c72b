"""The `resight` command."""

from __future__ import annotations

import gc
import secrets
from typing import Annotated

import typer
from sqlalchemy import Engine

from resight.audit.service import SYSTEM, verify_chain
from resight.config import Settings
from resight.db import make_engine, make_session_factory, transaction
from resight.errors import ResightError
from resight.migrations import runner
from resight.users import service as users_service
from resight.users.models import Role

app = typer.Typer(help="ReSight: retail intelligence for Indian marketplace sellers.", no_args_is_help=True)
users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")


def _engine() -> Engine:
    return make_engine(Settings().database_url)


@app.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    engine = _engine()
    try:
        runner.upgrade(engine)
        typer.echo(f"database at revision {', '.join(sorted(runner.current_revisions(engine)))}")
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API processes.")] = 1,
) -> None:
    """Serve the API (and the dashboard) with uvicorn. Never adds data by itself."""
    import uvicorn

    import resight.app  # noqa: F401  (imported before the collector is tuned, see below)

    settings = Settings()
    if workers > 1 and not settings.redis_url:
        typer.echo(
            "warning: several API processes without REDIS_URL: live updates (/ws) reach only the "
            "clients of the process that produced them (docs/DEPLOYMENT.md)",
            err=True,
        )
    _tune_garbage_collector()
    uvicorn.run(
        "resight.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        proxy_headers=True,
        # Live updates are serialised once and fanned out; per-connection compression would redo
        # that work per client and hold a zlib context per socket (docs/decisions/0801).
        ws_per_message_deflate=False,
    )


def _tune_garbage_collector() -> None:
    """Fewer, cheaper cyclic collections for a long-running server.

    With the defaults, a batch delivery (tens of thousands of short-lived objects) triggered
    full collections that walked every module, class and mapper loaded at startup: about a third
    of the CPU of ingestion (docs/decisions/0301-raw-bulk-ingestion-writes.md). Freezing moves what
    is loaded now out of the collector's sight; a higher first threshold collects young objects
    in fewer passes. Refcounting still frees everything that has no cycles at once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    password: Annotated[str, typer.Option(help="At least 8 characters.", prompt=True, hide_input=True)],
    role: Annotated[Role, typer.Option(help="viewer, merchandiser or admin.")] = Role.viewer,
) -> None:
    """Create a user."""
    if len(password) < 8:
        raise typer.BadParameter("password must have at least 8 characters")
    engine = _engine()
    try:
        with transaction(make_session_factory(engine)) as session:
            user = users_service.create_user(session, SYSTEM, username, password, role)
        typer.echo(f"created {user.role.value} {user.username!r} (id {user.id})")
    except ResightError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@users_app.command("ensure-admin")
def users_ensure_admin(username: Annotated[str, typer.Option(help="Login name.")] = "admin") -> None:
    """Create an admin with a random password if there is no admin yet; print the password once."""
    engine = _engine()
    try:
        with transaction(make_session_factory(engine)) as session:
            if users_service.any_admin_exists(session):
                typer.echo("an admin account exists already")
                return
            password = secrets.token_urlsafe(12)
            users_service.create_user(session, SYSTEM, username, password, Role.admin)
        typer.echo("=" * 60)
        typer.echo("Created the first admin. Note the password: it is shown only once.")
        typer.echo(f"  username: {username}")
        typer.echo(f"  password: {password}")
        typer.echo("=" * 60)
    finally:
        engine.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit hash chain; exit 1 naming the first broken link."""
    engine = _engine()
    try:
        with make_session_factory(engine)() as session:
            broken = verify_chain(session)
    finally:
        engine.dispose()
    if broken is not None:
        typer.echo(f"audit chain broken at seq {broken.seq}: {broken.reason}", err=True)
        raise typer.Exit(1)
    typer.echo("audit chain intact")


def _register_domain_commands() -> None:
    from resight.events import cli as events_cli
    from resight.integrations import cli as integrations_cli
    from resight.ml import cli as ml_cli
    from resight.realtime import cli as realtime_cli
    from resight.rules import cli as rules_cli
    from resight.simulator import cli as simulator_cli

    for module in (integrations_cli, events_cli, simulator_cli, ml_cli, rules_cli, realtime_cli):
        module.register(app)


_register_domain_commands()
