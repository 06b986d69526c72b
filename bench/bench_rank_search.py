"""Text search on the ranking (POST /rank with q) at 100,000 ranked products: rank_items' CPU time
on a SQLite file, against the same page without a search."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import stats
from resight.catalog.models import ListingStatus, Platform, Product, Store, WebhookAuth
from resight.db import make_engine, make_session_factory, transaction
from resight.migrations import runner
from resight.ml.models import MlScore
from resight.ml.schemas import RankRequest
from resight.ml.service import rank_items

TITLE = "Ranking search: POST /rank with q"
WORDS = ("Cotton", "Silk", "Kurta", "Saree", "Dupatta", "Sneaker", "Pressure", "Cooker", "Steel", "Linen")
BRANDS = ("Biba", "Libas", "Puma", "Prestige", "Kavya", "Fabindia")


def _catalogue(session_factory: sessionmaker[Session], count: int) -> None:
    rng = np.random.default_rng(3)
    with transaction(session_factory) as session:
        store = Store(platform=Platform.amazon, name="Bench store", auth=next(iter(WebhookAuth)))
        session.add(store)
        session.flush()
        words = rng.integers(0, len(WORDS), (count, 3))
        session.execute(
            insert(Product),
            [
                {
                    "store_id": store.id,
                    "marketplace": Platform.amazon,
                    "sku": f"KF-{i:06d}",
                    "title": " ".join(WORDS[w] for w in words[i]) + f" {i}",
                    "brand": BRANDS[i % len(BRANDS)],
                    "category": "Ethnic Wear > Kurtas",
                    "price_paise": 99_900,
                    "status": ListingStatus.active,
                }
                for i in range(count)
            ],
        )
        ids = session.scalars(select(Product.id)).all()
        now = dt.datetime.now(dt.UTC)
        session.execute(
            insert(MlScore),
            [
                {
                    "product_id": pid,
                    "score": 1.0 / rank,
                    "rank": rank,
                    "model_version": "v1",
                    "computed_at": now,
                }
                for rank, pid in enumerate(ids, start=1)
            ],
        )


def run(quick: bool = False) -> str:
    count = 2_000 if quick else 100_000
    repeats = 3 if quick else 15
    cases = [
        ("no search (first page)", None),
        ("a common word, 'silk' (first page of ~27%)", "silk"),
        ("a number in a few titles, '4242'", "4242"),
        ("a SKU, 'kf-099999'", "kf-099999"),
        ("no match, 'zzz'", "zzz"),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="resight-bench-search-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'search.db'}")
        runner.upgrade(engine)
        factory = make_session_factory(engine)
        _catalogue(factory, count)
        for label, q in cases:
            seconds, total = [], 0
            for _ in range(repeats):
                with factory() as session:
                    started = time.process_time()
                    total = rank_items(session, RankRequest(q=q, limit=50)).total
                    seconds.append(time.process_time() - started)
            rows.append(f"{stats(seconds).row(label)[:-1]}| {total:,} |")
        engine.dispose()
    return "\n".join(
        [
            f"{count:,} ranked products, SQLite file; CPU ms per rank_items call (page of 50 and the total).",
            "",
            "| query | calls | median ms | p99 ms | matches |",
            "|---|---:|---:|---:|---:|",
            *rows,
        ]
    )
