"""The committed API client types equal those generated from today's OpenAPI schema, so the
dashboard and the server cannot drift apart silently. Fix a failure with `make client`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
COMMITTED = DASHBOARD / "src" / "api" / "schema.d.ts"


def test_generated_client_is_up_to_date(app: FastAPI, tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required to check the dashboard's generated client"
    assert (DASHBOARD / "node_modules" / "openapi-typescript").is_dir(), "run `make install` first"
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(app.openapi()))
    fresh = tmp_path / "schema.d.ts"
    subprocess.run(
        [node, "scripts/generate-client.mjs", "--schema", str(schema), "--out", str(fresh)],
        cwd=DASHBOARD,
        check=True,
        capture_output=True,
    )
    assert fresh.read_text() == COMMITTED.read_text(), (
        "dashboard/src/api/schema.d.ts is stale: run `make client` and commit it"
    )
