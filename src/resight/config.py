"""Settings, read once from the environment (and .env) and passed to whatever needs them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

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
    # Seller-panel report uploads (POST /integrations/{platform}/import): a month of orders runs to MBs.
    max_import_bytes: int = Field(default=20 * 1024 * 1024, gt=0, validation_alias="RESIGHT_MAX_IMPORT_BYTES")
    log_level: str = Field(default="info", validation_alias="RESIGHT_LOG_LEVEL")
    # After POST /stores/{id}/rotate-secret the old webhook secret stays valid this long.
    webhook_secret_grace_hours: float = Field(
        default=24.0, ge=0, validation_alias="RESIGHT_WEBHOOK_SECRET_GRACE_HOURS"
    )
    # Alert thresholds (events/alerts.py, docs/metrics.md).
    alert_ratio_drop_pct: float = Field(default=30.0, gt=0, validation_alias="RESIGHT_ALERT_RATIO_DROP_PCT")
    alert_min_views: int = Field(default=200, ge=1, validation_alias="RESIGHT_ALERT_MIN_VIEWS")
    alert_rank_drop: int = Field(default=10, ge=1, validation_alias="RESIGHT_ALERT_RANK_DROP")
    alert_low_stock_days: float = Field(default=7.0, gt=0, validation_alias="RESIGHT_ALERT_LOW_STOCK_DAYS")
    alert_top_k: int = Field(default=20, ge=1, validation_alias="RESIGHT_ALERT_TOP_K")
    login_attempts_per_minute: int = Field(
        default=10, gt=0, validation_alias="RESIGHT_LOGIN_ATTEMPTS_PER_MINUTE"
    )
    # Webhook deliveries per minute, counted per store and per source address (429 beyond).
    webhook_requests_per_minute: int = Field(
        default=60_000, gt=0, validation_alias="RESIGHT_WEBHOOK_REQUESTS_PER_MINUTE"
    )

    # Live updates (WebSocket /ws): see docs/realtime.md.
    ws_queue_size: int = Field(default=256, ge=1, validation_alias="RESIGHT_WS_QUEUE_SIZE")
    ws_heartbeat_seconds: float = Field(default=15.0, gt=0, validation_alias="RESIGHT_WS_HEARTBEAT_SECONDS")
    ws_client_timeout_seconds: float = Field(
        default=60.0, gt=0, validation_alias="RESIGHT_WS_CLIENT_TIMEOUT_SECONDS"
    )
    realtime_debounce_seconds: float = Field(
        default=0.25, ge=0, validation_alias="RESIGHT_REALTIME_DEBOUNCE_SECONDS"
    )
    # The Redis pub/sub channel of one deployment; unset: named after the database (realtime/feeds.py).
    realtime_channel: str | None = Field(
        default=None, min_length=1, validation_alias="RESIGHT_REALTIME_CHANNEL"
    )

    # The ML engine (docs/MODEL.md).
    models_dir: Path = Field(default=Path("models"), validation_alias="RESIGHT_MODELS_DIR")
    scoring_enabled: bool = Field(default=True, validation_alias="RESIGHT_SCORING_ENABLED")
    scoring_debounce_seconds: float = Field(
        default=1.0, ge=0, validation_alias="RESIGHT_SCORING_DEBOUNCE_SECONDS"
    )
    rank_by: Literal["gmv", "orders"] = Field(default="gmv", validation_alias="RESIGHT_RANK_BY")
    score_history_retention_days: int = Field(
        default=90, ge=1, validation_alias="RESIGHT_SCORE_HISTORY_RETENTION_DAYS"
    )
    # The scorer's incremental features (ml/feature_cache.py): how late a products write may
    # commit after its updated_at (re-read overlap; below one hour bucket), and the period in which
    # a rolling resync re-reads every product anyway (to absorb bulk writers that bypass updated_at).
    scoring_change_lookback_seconds: float = Field(
        default=300.0, ge=0, lt=3600, validation_alias="RESIGHT_SCORING_CHANGE_LOOKBACK_SECONDS"
    )
    scoring_resync_hours: float = Field(default=3.0, gt=0, validation_alias="RESIGHT_SCORING_RESYNC_HOURS")

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
