from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The test client, without live-update publishing: the publisher reads the database from its
    own thread a moment after each ingestion, which here would share the test's one connection
    with the request being served (these tests send hundreds of deliveries back to back)."""
    with TestClient(app, raise_server_exceptions=True) as test_client:
        app.state.hub = None
        yield test_client
