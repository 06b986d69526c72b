"""What the two ML benchmarks share: the synthetic catalogue's labels, a model of the production
shape fitted on them and put in service, and the naive row-by-row baseline they compare with."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM
from resight.ml import registry
from resight.ml.features import FEATURE_NAMES, FeatureSpec, RawFrame, encode, fit_spec
from resight.ml.registry import LoadedModel
from resight.ml.training import TrainingConfig, fit

CATEGORIES = [f"Cat {i // 10} > Sub {i}" for i in range(60)]
BRANDS = [f"Brand {i}" for i in range(300)]


def synthetic_model(frame: RawFrame, config: TrainingConfig) -> tuple[Any, FeatureSpec]:
    """A booster fitted on `frame` with synthetic Poisson demand (speed, not quality)."""
    spec = fit_spec(frame, frame)
    rng = np.random.default_rng(9)
    rate = np.exp(1.5 - frame.price / 1500 + np.log1p(frame.activity[:, 13]) * 0.3)
    return fit(encode(frame, spec), rng.poisson(rate).astype(np.float64), config), spec


def put_in_service(
    session: Session, models_dir: Path, version: str, booster: Any, spec: FeatureSpec, now: dt.datetime
) -> None:
    """Register the model and promote it, as `resight train` would."""
    path, sha = registry.write_artifact(models_dir, version, booster, spec)
    registry.register(
        session,
        SYSTEM,
        version=version,
        artifact=path,
        sha256=sha,
        params={},
        metrics={},
        train_from=now,
        train_to=now,
        fingerprint="-",
    )
    registry.promote(session, SYSTEM, version)


def naive_seconds_per_row(
    model: LoadedModel, x: np.ndarray, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Seconds per product the original system's way: a dict per row, a one-row pandas DataFrame,
    predict."""
    import pandas as pd  # type: ignore[import-untyped]

    names = list(FEATURE_NAMES)
    started = clock()
    for row in x:
        record = {name: float(v) for name, v in zip(names, row, strict=True)}
        model.booster.predict(pd.DataFrame([record]), num_threads=1)
    return (clock() - started) / max(len(x), 1)
