"""Process-level checks on a fresh database: concurrent copies of a delivery, and the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from resight.audit.service import SYSTEM, verify_chain
from resight.catalog import stores
from resight.catalog.models import Platform, Product, ProductHistory
from resight.cli import app as cli
from resight.db import make_session_factory, transaction
from resight.integrations import inbox, pipeline
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.integrations.records import NormalizationError, Normalized, StoreRef
from resight.integrations.signatures import fernet_for
from tests.conftest import own_migrated_database

SECRET_KEY = "cli-test-secret-key-" + "z" * 32
BODY = {
    "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
    "EventTime": "2026-11-01T10:00:00Z",
    "Payload": {"Sku": "CONC-1", "Quantity": 7},
}


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    with own_migrated_database(tmp_path / "fresh.db") as database:
        yield database


def _store(engine: Engine) -> StoreRef:
    with transaction(make_session_factory(engine)) as session:
        store, _secret = stores.create_store(
            session, SYSTEM, fernet_for(SECRET_KEY), platform=Platform.amazon, name="conc"
        )
        return StoreRef(store.id, store.platform, store.name, store.seller_id)


@pytest.mark.slow
def test_concurrent_copies_are_one_delivery(fresh: tuple[str, Engine]) -> None:
    _url, engine = fresh
    ref = _store(engine)
    factory = make_session_factory(engine)
    raw = json.dumps(BODY).encode()
    copies = 8
    barrier = threading.Barrier(copies)
    statuses: list[DeliveryStatus] = []
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            with transaction(factory) as session:
                receipt = inbox.receive(
                    session, ref, delivery_id="same-id", raw=raw, body=inbox.decode_body(raw), headers={}
                )
            statuses.append(receipt.status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(statuses) == sorted([DeliveryStatus.processed] + [DeliveryStatus.duplicate] * (copies - 1))
    with make_session_factory(engine)() as session:
        assert session.scalar(select(Product.stock).where(Product.sku == "CONC-1")) == 7
        assert session.scalar(select(func.count()).select_from(ProductHistory)) == 1
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == copies
        assert verify_chain(session) is None


def _cli(url: str, *args: str) -> Any:
    env = {"DATABASE_URL": url, "RESIGHT_SECRET_KEY": SECRET_KEY}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.mark.slow
def test_cli_creates_a_store_and_replays_quarantined(
    fresh: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = fresh
    result = _cli(url, "stores", "create", "--platform", "amazon", "--name", "Acme", "--auth", "api_key")
    assert result.exit_code == 0, result.output
    assert "rsk_" in result.output
    assert "/integrations/amazon/webhook?store=" in result.output
    result = _cli(url, "stores", "create", "--platform", "myntra", "--name", "Acme M")
    assert "whsec_" in result.output

    def broken(_body: Any, _store: StoreRef) -> Normalized:
        raise NormalizationError("adapter bug")

    with monkeypatch.context() as patch:
        patch.setitem(pipeline.ADAPTERS, Platform.amazon, broken)
        ref = StoreRef(1, Platform.amazon, "Acme", None)
        raw = json.dumps(BODY).encode()
        with transaction(make_session_factory(engine)) as session:
            receipt = inbox.receive(
                session, ref, delivery_id="q-1", raw=raw, body=inbox.decode_body(raw), headers={}
            )
        assert receipt.status is DeliveryStatus.quarantined

    result = _cli(url, "inbox", "replay", "--all-quarantined")
    assert result.exit_code == 0, result.output
    assert f"delivery {receipt.id}: processed" in result.output
    result = _cli(url, "inbox", "replay", "--id", str(receipt.id))
    assert result.exit_code == 1
    assert "only quarantined" in result.output
    with make_session_factory(engine)() as session:
        assert session.scalar(select(Product.stock).where(Product.sku == "CONC-1")) == 7
