"""This domain's `resight` commands: `resight stores create` and `resight inbox replay`."""

from __future__ import annotations

from typing import Annotated

import typer

from resight.audit.service import SYSTEM
from resight.catalog import stores
from resight.catalog.models import Platform, WebhookAuth
from resight.config import Settings
from resight.db import make_engine, make_session_factory, transaction
from resight.errors import ResightError
from resight.integrations import deliveries, inbox
from resight.integrations.signatures import fernet_for

stores_app = typer.Typer(help="Marketplace stores and their webhook credentials.", no_args_is_help=True)
inbox_app = typer.Typer(help="The inbox of marketplace deliveries.", no_args_is_help=True)


@stores_app.command("create")
def stores_create(
    platform: Annotated[Platform, typer.Option(help="amazon, myntra or meesho.")],
    name: Annotated[str, typer.Option(help="A name for the store.")],
    seller_id: Annotated[str | None, typer.Option(help="The marketplace's seller id.")] = None,
    auth: Annotated[WebhookAuth, typer.Option(help="signature (Standard Webhooks) or api_key.")] = (
        WebhookAuth.signature
    ),
) -> None:
    """Create a store and print its webhook secret (shown only this once)."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            store, secret = stores.create_store(
                session,
                SYSTEM,
                fernet_for(settings.resolved_secret_key()),
                platform=platform,
                name=name,
                seller_id=seller_id,
                auth=auth,
            )
    except ResightError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    header = "X-Api-Key" if auth is WebhookAuth.api_key else "webhook secret"
    typer.echo(f"created {platform.value} store {store.name!r} (id {store.id})")
    typer.echo(f"  deliveries: POST /integrations/{platform.value}/webhook?store={store.id}")
    typer.echo(f"  {header} (shown only now): {secret}")


@inbox_app.command("replay")
def inbox_replay(
    delivery: Annotated[int | None, typer.Option("--id", help="The inbox row id of one delivery.")] = None,
    all_quarantined: Annotated[bool, typer.Option("--all-quarantined", help="Replay every one.")] = False,
) -> None:
    """Normalise and apply quarantined deliveries again, each in its own transaction."""
    if (delivery is None) == (not all_quarantined):
        raise typer.BadParameter("pass either --id N or --all-quarantined")
    engine = make_engine(Settings().database_url)
    failed = 0
    try:
        factory = make_session_factory(engine)
        if delivery is not None:
            ids = [delivery]
        else:
            with factory() as session:
                ids = deliveries.quarantined_ids(session)
        for row_id in ids:
            try:
                with transaction(factory) as session:
                    receipt = inbox.replay(session, SYSTEM, row_id)
            except ResightError as exc:
                typer.echo(f"delivery {row_id}: error: {exc.detail}", err=True)
                failed += 1
                continue
            suffix = f" ({receipt.error})" if receipt.error else ""
            typer.echo(f"delivery {row_id}: {receipt.status.value}{suffix}")
            failed += receipt.status.value == "quarantined"
    finally:
        engine.dispose()
    typer.echo(f"replayed {len(ids)}, still failing {failed}")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(stores_app, name="stores")
    app.add_typer(inbox_app, name="inbox")
