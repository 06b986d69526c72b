"""docs/DEPLOYMENT.md must name every setting: adding one without documenting it fails here."""

from __future__ import annotations

from pathlib import Path

from resight.config import Settings

DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "DEPLOYMENT.md"


def test_every_environment_variable_is_documented() -> None:
    text = DEPLOYMENT.read_text()
    names = {str(field.validation_alias) for field in Settings.model_fields.values()}
    assert names, "Settings has no fields?"
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert missing == [], f"document these in docs/DEPLOYMENT.md: {missing}"
