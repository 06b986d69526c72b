"""Stores (a seller's account on one marketplace) and their webhook credentials.

A credential's secret is returned once, when it is issued, and never again: signing secrets are
kept encrypted, API keys only as a SHA-256. Audit rows name the credential, never its secret.
"""

from __future__ import annotations

import datetime as dt

from cryptography.fernet import Fernet
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from resight.audit.service import Actor, record
from resight.catalog.models import Platform, Store, StoreCredential, WebhookAuth
from resight.db import utcnow
from resight.errors import BadRequest, NotFound
from resight.integrations import signatures


def _issue(session: Session, fernet: Fernet, store: Store) -> tuple[StoreCredential, str]:
    if store.auth is WebhookAuth.signature:
        secret = signatures.new_signing_secret()
        credential = StoreCredential(
            store_id=store.id,
            secret_encrypted=signatures.encrypt_secret(fernet, secret),
            hint=signatures.hint(secret),
        )
    else:
        secret = signatures.new_api_key()
        credential = StoreCredential(
            store_id=store.id, api_key_hash=signatures.api_key_hash(secret), hint=signatures.hint(secret)
        )
    session.add(credential)
    session.flush()
    return credential, secret


def create_store(
    session: Session,
    actor: Actor,
    fernet: Fernet,
    *,
    platform: Platform,
    name: str,
    seller_id: str | None = None,
    auth: WebhookAuth = WebhookAuth.signature,
) -> tuple[Store, str]:
    """A new store and its first credential; the secret is returned once."""
    name = name.strip()
    if not name:
        raise BadRequest("a store needs a name")
    store = Store(platform=platform, name=name, seller_id=seller_id or None, auth=auth)
    session.add(store)
    session.flush()
    credential, secret = _issue(session, fernet, store)
    record(
        session,
        actor,
        "store.created",
        "store",
        store.id,
        new={
            "platform": platform.value,
            "name": name,
            "seller_id": store.seller_id,
            "auth": auth.value,
            "credential_id": credential.id,
            "credential_hint": credential.hint,
        },
    )
    return store, secret


def get_store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"store {store_id} not found")
    return store


def list_stores(
    session: Session, *, platform: Platform | None = None, after_id: int | None = None, limit: int
) -> list[Store]:
    query = select(Store).order_by(Store.id).limit(limit)
    if platform is not None:
        query = query.where(Store.platform == platform)
    if after_id is not None:
        query = query.where(Store.id > after_id)
    return list(session.scalars(query))


def live_credentials(
    session: Session, store_id: int, now: dt.datetime | None = None
) -> list[StoreCredential]:
    now = now or utcnow()
    query = (
        select(StoreCredential)
        .where(
            StoreCredential.store_id == store_id,
            or_(StoreCredential.expires_at.is_(None), StoreCredential.expires_at > now),
        )
        .order_by(StoreCredential.id)
    )
    return list(session.scalars(query))


def rotate_secret(
    session: Session, actor: Actor, fernet: Fernet, store_id: int, *, grace: dt.timedelta
) -> tuple[Store, str, dt.datetime]:
    """Issue a new credential; the ones still valid stay valid for `grace` more, then expire."""
    store = get_store(session, store_id)
    now = utcnow()
    grace_until = now + grace
    retired = session.execute(
        update(StoreCredential)
        .where(
            StoreCredential.store_id == store.id,
            or_(StoreCredential.expires_at.is_(None), StoreCredential.expires_at > grace_until),
        )
        .values(expires_at=grace_until)
        .returning(StoreCredential.id)
    ).scalars()
    retired_ids = sorted(retired)
    credential, secret = _issue(session, fernet, store)
    store.updated_at = now
    record(
        session,
        actor,
        "store.secret_rotated",
        "store",
        store.id,
        new={
            "credential_id": credential.id,
            "credential_hint": credential.hint,
            "old_credentials_expire_at": grace_until,
            "old_credential_ids": retired_ids,
        },
    )
    return store, secret, grace_until
