"""Which store a delivery is for and whether its credentials are good, without a database round
trip or a decryption per request: decrypted keys are cached per store for a short while.

Rotation in this process invalidates the store's entry at once; a rotation made by another process
is seen within CACHE_SECONDS (a new key sooner: a request that fails with cached keys reloads them
once), so an old key may outlive its grace period by at most that long.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from resight.catalog.models import Platform, Store, StoreCredential, WebhookAuth
from resight.db import utcnow
from resight.errors import BadRequest, Unauthorized
from resight.integrations import signatures
from resight.integrations.records import StoreRef

CACHE_SECONDS = 30.0
RELOAD_AFTER_FAILURE_SECONDS = 1.0


class DeliveryRefused(Unauthorized):
    """401 for a delivery, with the store it named when known (so the refusal can be counted)."""

    def __init__(self, detail: str, store_id: int | None) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": 'Webhook realm="resight"'}
        self.store_id = store_id


@dataclass(frozen=True, slots=True)
class StoreKeys:
    store: StoreRef
    auth: WebhookAuth
    signing_keys: tuple[tuple[bytes, dt.datetime | None], ...]
    api_key_hashes: tuple[tuple[str, dt.datetime | None], ...]
    loaded_at: float

    def live_signing_keys(self, now: dt.datetime) -> list[bytes]:
        return [key for key, expires in self.signing_keys if expires is None or expires > now]

    def api_key_matches(self, presented: str, now: dt.datetime) -> bool:
        digest = signatures.api_key_hash(presented)
        matched = False
        for known, expires in self.api_key_hashes:
            matched |= hmac.compare_digest(known, digest) and (expires is None or expires > now)
        return matched


class CredentialCache:
    def __init__(self, fernet: Fernet) -> None:
        self.fernet = fernet
        self._lock = threading.Lock()
        self._stores: dict[int, StoreKeys] = {}
        self._only_store: dict[Platform, tuple[int | None, float]] = {}

    def invalidate(self, store_id: int | None = None) -> None:
        with self._lock:
            if store_id is None:
                self._stores.clear()
            else:
                self._stores.pop(store_id, None)
            self._only_store.clear()

    def store_id_for(self, factory: sessionmaker[Session], platform: Platform, given: int | None) -> int:
        if given is not None:
            return given
        cached = self._only_store.get(platform)
        if cached is None or time.monotonic() - cached[1] > CACHE_SECONDS:
            with factory() as session:
                ids = list(session.scalars(select(Store.id).where(Store.platform == platform).limit(2)))
            cached = (ids[0] if len(ids) == 1 else None, time.monotonic())
            with self._lock:
                self._only_store[platform] = cached
        if cached[0] is None:
            raise BadRequest(f"name the store: ?store=<id> (there is not exactly one {platform.value} store)")
        return cached[0]

    def keys(
        self, factory: sessionmaker[Session], store_id: int, *, reload: bool = False
    ) -> StoreKeys | None:
        entry = self._stores.get(store_id)
        if entry is not None and not reload and time.monotonic() - entry.loaded_at < CACHE_SECONDS:
            return entry
        with factory() as session:
            store = session.get(Store, store_id)
            if store is None:
                return None
            rows = list(session.scalars(select(StoreCredential).where(StoreCredential.store_id == store_id)))
            entry = StoreKeys(
                store=StoreRef(
                    id=store.id, platform=store.platform, name=store.name, seller_id=store.seller_id
                ),
                auth=store.auth,
                signing_keys=tuple(
                    (signatures.signing_key(self.fernet, row.secret_encrypted), row.expires_at)
                    for row in rows
                    if row.secret_encrypted is not None
                ),
                api_key_hashes=tuple((row.api_key_hash, row.expires_at) for row in rows if row.api_key_hash),
                loaded_at=time.monotonic(),
            )
        with self._lock:
            self._stores[store_id] = entry
        return entry

    def authenticate(
        self,
        factory: sessionmaker[Session],
        platform: Platform,
        store_id: int,
        headers: dict[str, str],
        body: bytes,
    ) -> StoreRef:
        """The store whose credentials signed (or accompany) this request; 401 otherwise."""
        entry = self.keys(factory, store_id)
        if entry is None or entry.store.platform != platform:
            raise DeliveryRefused(f"no {platform.value} store {store_id}", None)
        if self._accepts(entry, headers, body):
            return entry.store
        if time.monotonic() - entry.loaded_at > RELOAD_AFTER_FAILURE_SECONDS:
            entry = self.keys(factory, store_id, reload=True)
            if entry is not None and self._accepts(entry, headers, body):
                return entry.store
        raise DeliveryRefused(self._why(entry, headers), store_id)

    def _accepts(self, entry: StoreKeys, headers: dict[str, str], body: bytes) -> bool:
        now = utcnow()
        if entry.auth is WebhookAuth.api_key:
            presented = headers.get("x-api-key")
            return bool(presented) and entry.api_key_matches(str(presented), now)
        try:
            signed = signatures.parse_headers(
                headers.get("webhook-id"),
                headers.get("webhook-timestamp"),
                headers.get("webhook-signature"),
                now=signatures.unix_now(),
            )
        except signatures.SignatureError:
            return False
        return signatures.verify(entry.live_signing_keys(now), signed, body)

    @staticmethod
    def _why(entry: StoreKeys | None, headers: dict[str, str]) -> str:
        if entry is None:
            return "unknown store"
        if entry.auth is WebhookAuth.api_key:
            return "missing or invalid X-Api-Key" if headers.get("x-api-key") else "missing X-Api-Key header"
        try:
            signatures.parse_headers(
                headers.get("webhook-id"),
                headers.get("webhook-timestamp"),
                headers.get("webhook-signature"),
                now=signatures.unix_now(),
            )
        except signatures.SignatureError as exc:
            return str(exc)
        return "invalid webhook signature"
