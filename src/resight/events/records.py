"""What ingestion hands to the events domain: one normalised interaction or order line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from resight.catalog.models import Platform
from resight.events.models import EventType


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which cost more than
# storing the event once a batch makes tens of thousands of them. The applier builds it with
# positional arguments (integrations/apply.py): keep the field order.
@dataclass(slots=True)
class NewEvent:
    product_id: int
    store_id: int
    marketplace: Platform
    event_type: EventType
    event_time: dt.datetime  # timezone-aware
    quantity: int = 1
    revenue_paise: int = 0
    # The marketplace's own id (order line, return id, traffic bucket): a repeat is ignored.
    external_id: str | None = None
    delivery_id: int | None = None
