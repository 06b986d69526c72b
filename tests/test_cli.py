from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from resight.cli import app
from resight.config import Settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_db_users_and_first_admin(cli_env: Path) -> None:
    result = runner.invoke(app, ["init-db"])
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    again = runner.invoke(app, ["init-db"])
    assert again.exit_code == 0

    first = runner.invoke(app, ["users", "ensure-admin"])
    assert first.exit_code == 0, first.output
    password = re.search(r"password: (\S+)", first.output)
    assert password is not None
    second = runner.invoke(app, ["users", "ensure-admin"])
    assert "exists already" in second.output
    assert password.group(1) not in second.output

    created = runner.invoke(
        app, ["users", "create", "--username", "asha", "--password", "long-pass-1", "--role", "merchandiser"]
    )
    assert created.exit_code == 0, created.output
    assert "created merchandiser 'asha'" in created.output
    duplicate = runner.invoke(app, ["users", "create", "--username", "asha", "--password", "long-pass-1"])
    assert duplicate.exit_code == 1
    short = runner.invoke(app, ["users", "create", "--username", "ravi", "--password", "short"])
    assert short.exit_code != 0

    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output


def _command_paths(group: TyperGroup, prefix: list[str]) -> list[list[str]]:
    paths = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            paths += _command_paths(command, [*prefix, name])
        else:
            paths.append([*prefix, name])
    return paths


def test_every_command_has_help() -> None:
    paths = _command_paths(typer.main.get_group(app), [])
    for required in (["init-db"], ["serve"], ["users", "create"]):
        assert required in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    assert "--host" in serve_help
    assert "--port" in serve_help


def test_secret_key_is_generated_once_and_reused(tmp_path: Path) -> None:
    settings = Settings(RESIGHT_SECRET_KEY_FILE=tmp_path / "key")
    first = settings.resolved_secret_key()
    assert len(first) >= 40
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    assert Settings(RESIGHT_SECRET_KEY_FILE=tmp_path / "key").resolved_secret_key() == first
    assert (
        Settings(RESIGHT_SECRET_KEY="given", RESIGHT_SECRET_KEY_FILE=tmp_path / "x").resolved_secret_key()
        == "given"
    )


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/resight")
    monkeypatch.setenv("RESIGHT_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("RESIGHT_SCORING_INTERVAL_SECONDS", "12")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db:5432/resight"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.scoring_interval_seconds == 12
    assert Settings.model_fields["scoring_interval_seconds"].default == 30


def test_settings_defaults() -> None:
    fields = Settings.model_fields
    assert fields["database_url"].default == "sqlite:///./resight.db"
    assert fields["redis_url"].default is None
    assert fields["secret_key"].default is None
    assert fields["token_lifetime_minutes"].default == 12 * 60
    assert fields["cors_origins"].get_default(call_default_factory=True) == []
