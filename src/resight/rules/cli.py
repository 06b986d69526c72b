"""This domain's `resight` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands (top-level or as a sub-app) to the `resight` CLI."""
