"""What rebuilds a simulated world from a database: its seed, size and time span."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from resight.db import Base, BigIntId, UTCDateTime, utcnow


class SimulatorWorld(Base):
    """One `resight demo-data` run. Products are found by store; SKUs encode the world index."""

    __tablename__ = "simulator_worlds"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    n_products: Mapped[int] = mapped_column(Integer)
    # Start of the history (an IST hour): part of the world's definition.
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # {"amazon": store id, "myntra": ..., "meesho": ...}
    stores: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
