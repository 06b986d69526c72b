"""Settings, read once from the environment (and .env) and passed to whatever needs them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./resight.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    scoring_interval_seconds: float = Field(
        default=30.0, gt=0, validation_alias="RESIGHT_SCORING_INTERVAL_SECONDS"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="RESIGHT_CORS_ORIGINS"
    )
    token_lifetime_minutes: int = Field(
        default=12 * 60, gt=0, validation_alias="RESIGHT_TOKEN_LIFETIME_MINUTES"
    )
    secret_key: str | None = Field(default=None, validation_alias="RESIGHT_SECRET_KEY")
    secret_key_file: Path = Field(
        default=Path(".resight-secret-key"), validation_alias="RESIGHT_SECRET_KEY_FILE"
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, gt=0, validation_alias="RESIGHT_MAX_BODY_BYTES")
    log_level: str = Field(default="info", validation_alias="RESIGHT_LOG_LEVEL")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, value: str) -> str:
        # People paste URLs from their hosting provider; we speak psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    def resolved_secret_key(self) -> str:
        """The configured key, or the one stored beside the data on first run."""
        if self.secret_key:
            return self.secret_key
        path = self.secret_key_file
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race; use its key
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key
