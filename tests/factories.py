"""Small factories: make_x(session, **overrides). They flush, never commit."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Platform, Product, Store, WebhookAuth
from resight.db import utcnow
from resight.users.models import Role, TokenKind, User
from resight.users.security import hash_password
from resight.users.service import issue_token

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)


def make_user(session: Session, role: Role = Role.viewer, **overrides: Any) -> User:
    values: dict[str, Any] = {
        "username": f"user{next(_counter)}",
        "password_hash": _PASSWORD_HASH,
        "role": role,
        "is_active": True,
    }
    values.update(overrides)
    user = User(**values)
    session.add(user)
    session.flush()
    return user


def auth_headers(
    session: Session, user: User, lifetime: dt.timedelta | None = dt.timedelta(hours=1)
) -> dict[str, str]:
    _row, token = issue_token(session, user, kind=TokenKind.session, name="test", lifetime=lifetime)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def headers_for(session: Session, role: Role) -> dict[str, str]:
    return auth_headers(session, make_user(session, role))


def make_store(session: Session, platform: Platform = Platform.amazon, **overrides: Any) -> Store:
    values: dict[str, Any] = {
        "platform": platform,
        "name": f"{platform.value} store {next(_counter)}",
        "seller_id": f"SELLER{next(_counter)}",
        "auth": WebhookAuth.signature,
    }
    values.update(overrides)
    store = Store(**values)
    session.add(store)
    session.flush()
    return store


def make_product(session: Session, store: Store | None = None, **overrides: Any) -> Product:
    store = store or make_store(session)
    n = next(_counter)
    now = utcnow()
    values: dict[str, Any] = {
        "store_id": store.id,
        "marketplace": store.platform,
        "sku": f"SKU-{n}",
        "external_id": f"B0{n:08d}",
        "title": f"Cotton Kurta {n}",
        "brand": "Biba",
        "category": "Ethnic Wear > Kurtas",
        "mrp_paise": 199_900,
        "price_paise": 129_900,
        "stock": 25,
        "rating": 4.2,
        "rating_count": 130,
        "status": ListingStatus.active,
        "price_changed_at": now,
        "stock_changed_at": now,
        "status_changed_at": now,
        "last_event_at": now,
    }
    values.update(overrides)
    product = Product(**values)
    session.add(product)
    session.flush()
    return product
