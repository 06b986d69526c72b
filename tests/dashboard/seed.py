"""A small, realistic catalogue for the dashboard's end-to-end run."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM
from resight.catalog.models import Platform, Product
from resight.config import Settings
from resight.db import utcnow
from resight.events.alerts import evaluate_alerts
from resight.events.models import EventType
from resight.events.records import NewEvent
from resight.events.service import record_events
from resight.users.models import Role
from resight.users.service import create_user
from tests.factories import make_product, make_store

ADMIN = ("asha", "asha-admin-pass-1")
VIEWER = ("vikram", "vikram-viewer-pass-1")
MERCHANDISER = ("meera", "meera-merch-pass-1")

CATALOGUE = [
    ("Cotton Anarkali Kurta", "Biba", "Ethnic Wear > Kurtas", 1_299, 2_499),
    ("Banarasi Silk Saree", "Kalini", "Ethnic Wear > Sarees", 3_499, 6_999),
    ("Men's Slim Fit Jeans", "Roadster", "Western Wear > Jeans", 899, 1_999),
    ("Running Shoes Revolt", "Campus", "Footwear > Sports Shoes", 1_149, 2_299),
    ("Stainless Steel Pressure Cooker 5 L", "Prestige", "Home & Kitchen > Cookware", 2_199, 3_150),
    ("Basmati Rice Classic 5 kg", "India Gate", "Grocery > Rice", 649, 799),
    ("Wireless Earbuds Airdopes 141", "boAt", "Electronics > Audio", 1_099, 4_490),
    ("Printed Cotton Bedsheet Double", "Jaipuri Prints", "Home & Kitchen > Bedding", 499, 1_299),
    ("Leather Chappal Kolhapuri", "Mochi", "Footwear > Sandals", 749, 1_499),
    ("Smartwatch Wave Call", "Noise", "Electronics > Wearables", 1_799, 5_999),
]


def _event(
    product: Product, kind: EventType, at: dt.datetime, quantity: int, key: str, revenue: int = 0
) -> NewEvent:
    return NewEvent(
        product_id=product.id,
        store_id=product.store_id,
        marketplace=product.marketplace,
        event_type=kind,
        event_time=at,
        quantity=quantity,
        revenue_paise=revenue,
        external_id=key,
    )


def _history(products: list[Product], now: dt.datetime, days: int = 60) -> list[NewEvent]:
    """Views, clicks and orders over the last `days` days, growing towards today."""
    rng = random.Random(20261128)
    events: list[NewEvent] = []
    for product in products:
        appeal = rng.uniform(0.4, 1.6)

        for ago in range(days):
            growth = 1.0 + (days - ago) / days
            at = now - dt.timedelta(days=ago, minutes=rng.randint(2, 1438))
            views = int(120 * appeal * growth * rng.uniform(0.7, 1.3))
            clicks = max(1, int(views * rng.uniform(0.04, 0.09)))
            key = f"{product.id}-{ago}"
            events.append(_event(product, EventType.view, at, views, f"v-{key}"))
            events.append(_event(product, EventType.click, at, clicks, f"c-{key}"))
            for line in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
                price = product.price_paise or 0
                events.append(_event(product, EventType.order, at, 1, f"o-{key}-{line}", price))
    return events


def seed(session: Session) -> None:
    for username, role, (_, password) in [
        ("asha", Role.admin, ADMIN),
        ("vikram", Role.viewer, VIEWER),
        ("meera", Role.merchandiser, MERCHANDISER),
    ]:
        create_user(session, SYSTEM, username, password, role)
    stores = {
        platform: make_store(session, platform, name=f"Kavya Fashions on {platform.value.title()}")
        for platform in Platform
    }
    platforms = list(Platform)
    products: list[Product] = []
    now = utcnow()
    listed = now - dt.timedelta(days=61)
    for n in range(36):
        title, brand, category, price, mrp = CATALOGUE[n % len(CATALOGUE)]
        platform = platforms[n % len(platforms)]
        product = make_product(
            session,
            stores[platform],
            sku=f"KF-{1000 + n}",
            title=title if n < len(CATALOGUE) else f"{title} ({n // len(CATALOGUE) + 1})",
            brand=brand,
            category=category,
            price_paise=(price + 10 * n) * 100,
            mrp_paise=mrp * 100,
            stock=0 if n % 7 == 3 else 5 + (n * 13) % 120,
            rating=round(3.6 + (n % 14) / 10, 1),
            rating_count=50 + n * 37,
            created_at=listed,
            price_changed_at=listed,
            stock_changed_at=listed,
            status_changed_at=listed,
        )
        products.append(product)
    record_events(session, _history(products, now))
    evaluate_alerts(session, Settings(), now)
