from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.events.models import EventType
from resight.events.records import NewEvent
from resight.events.service import record_events

_ids = itertools.count(1)


def add_event(
    session: Session,
    product: Product,
    kind: EventType,
    at: dt.datetime,
    *,
    quantity: int = 1,
    paise: int = 0,
) -> None:
    record_events(
        session,
        [
            NewEvent(
                product_id=product.id,
                store_id=product.store_id,
                marketplace=product.marketplace,
                event_type=kind,
                event_time=at,
                quantity=quantity,
                revenue_paise=paise,
                external_id=f"T{next(_ids)}",
            )
        ],
    )
    session.flush()
