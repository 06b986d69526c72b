"""Training: snapshots of the stored history × products, label = orders in the next 24 hours,
LightGBM (Poisson) with demand constrained never to rise with price, evaluated on a later slice
of time, registered, and promoted only if not worse than the model in service."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM, Actor
from resight.events.models import ProductHourlyMetrics
from resight.ml import registry
from resight.ml.features import (
    CATEGORICAL_INDICES,
    FEATURE_NAMES,
    MONOTONE,
    FeatureSpec,
    Floats,
    RawFrame,
    encode,
    fit_spec,
)
from resight.ml.metrics import per_snapshot
from resight.ml.models import MlModel
from resight.ml.past import LABEL_SECONDS, History, load_history
from resight.ml.registry import LoadedModel
from resight.ml.snapshots import bucket_geometry

Progress = Callable[[int, int], None]
PRIMARY_METRIC_K = 100


class TrainingError(Exception):
    """Not enough history to train and evaluate."""


@dataclass(frozen=True)
class TrainingConfig:
    # 100 trees × 15 leaves at rate 0.1: on demo data within 0.01 of 200 × 31 at rate 0.05 on the
    # truth metrics, at about a third of the prediction cost (docs/MODEL.md, "Model size").
    rounds: int = 100
    learning_rate: float = 0.1
    num_leaves: int = 15
    min_data_in_leaf: int = 20
    snapshot_hours: int = 12
    eval_hours: int = 48
    seed: int = 7
    threads: int = 2

    def lightgbm_params(self) -> dict[str, Any]:
        return {
            "objective": "poisson",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "lambda_l2": 1.0,
            "monotone_constraints": list(MONOTONE),
            "monotone_constraints_method": "basic",
            "feature_fraction": 1.0,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.threads,
            "seed": self.seed,
            "verbosity": -1,
        }


@dataclass(frozen=True)
class Dataset:
    frame: RawFrame
    labels: Floats

    @property
    def groups(self) -> Floats:
        return self.frame.at


@dataclass
class TrainingResult:
    model: MlModel
    promoted: bool
    metrics: dict[str, Any]
    serving_metrics: dict[str, Any] | None
    rows: int = 0
    notes: list[str] = field(default_factory=list)


def snapshot_times(
    history: History, config: TrainingConfig, until: dt.datetime | None
) -> tuple[list[int], list[int]]:
    """Bucket-aligned moments for training and for evaluation; every label window is complete and
    no training label window overlaps the evaluation period."""
    seconds, offset = bucket_geometry()
    keys = history.activity.keys
    if len(keys) == 0:
        raise TrainingError("no activity recorded yet: ingest events (or run `resight demo-data`) first")
    starts = keys & 0xFFFFFFFF
    first, last = int(starts.min()), int(starts.max()) + seconds
    if until is not None:
        last = min(last, int(until.timestamp()))
    last -= (last - offset) % seconds
    step = config.snapshot_hours * 3600
    last_eval = last - LABEL_SECONDS
    eval_times = list(range(last_eval, last_eval - config.eval_hours * 3600, -step))[::-1]
    begin = first + 86_400 - (first + 86_400 - offset) % seconds
    train_end = eval_times[0] - LABEL_SECONDS if eval_times else begin
    train_times = list(range(train_end, begin - 1, -step))[::-1]
    if not eval_times or len(train_times) < 2:
        raise TrainingError(
            f"history too short: need at least {(config.eval_hours + 2 * 24) / 24 + 1:.0f} days of events"
        )
    return train_times, eval_times


def build_dataset(history: History, times: list[int]) -> Dataset:
    frames = [history.frame_at(t) for t in times]
    frame = RawFrame.concat(frames)
    return Dataset(frame=frame, labels=history.orders_after(frame))


def evaluate(model: LoadedModel, data: Dataset) -> dict[str, Any]:
    predicted = model.predict(encode(data.frame, model.spec))
    return per_snapshot(data.groups, predicted, data.labels, PRIMARY_METRIC_K)


def fingerprint(x: Floats, labels: Floats) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def fit(x: Floats, labels: Floats, config: TrainingConfig, progress: Progress | None = None) -> lgb.Booster:
    data = lgb.Dataset(
        x,
        label=labels,
        feature_name=list(FEATURE_NAMES),
        categorical_feature=list(CATEGORICAL_INDICES),
        free_raw_data=True,
    )
    callbacks = []
    if progress is not None:
        callbacks.append(lambda env: progress(env.iteration + 1, env.end_iteration))
    return lgb.train(config.lightgbm_params(), data, num_boost_round=config.rounds, callbacks=callbacks)


def not_worse(candidate: dict[str, Any], serving: dict[str, Any] | None) -> bool:
    if serving is None:
        return True
    key = f"ndcg_at_{PRIMARY_METRIC_K}"
    new, old = candidate.get(key), serving.get(key)
    if old is None or not np.isfinite(old):
        return True
    return new is not None and bool(np.isfinite(new)) and new >= old - 1e-9


def train_and_register(
    session: Session,
    models_dir: Path,
    *,
    config: TrainingConfig | None = None,
    until: dt.datetime | None = None,
    actor: Actor = SYSTEM,
    serving: LoadedModel | None = None,
    progress: Progress | None = None,
    extra_evaluation: Callable[[LoadedModel, Dataset], dict[str, Any]] | None = None,
) -> TrainingResult:
    config = config or TrainingConfig()
    history = load_history(session)
    train_times, eval_times = snapshot_times(history, config, until)
    train = build_dataset(history, train_times)
    evaluation = build_dataset(history, eval_times)
    spec: FeatureSpec = fit_spec(train.frame, history.frame_at(train_times[0]))
    x = encode(train.frame, spec)
    booster = fit(x, train.labels, config, progress)
    data_fingerprint = fingerprint(x, train.labels)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    candidate = LoadedModel(version=version, booster=booster, spec=spec, features=FEATURE_NAMES)
    metrics: dict[str, Any] = {
        **evaluate(candidate, evaluation),
        "train_rows": len(train.labels),
        "eval_rows": len(evaluation.labels),
        "eval_from": dt.datetime.fromtimestamp(eval_times[0], dt.UTC).isoformat(),
        "eval_to": dt.datetime.fromtimestamp(eval_times[-1] + LABEL_SECONDS, dt.UTC).isoformat(),
    }
    serving_metrics = evaluate(serving, evaluation) if serving is not None else None
    if extra_evaluation is not None:
        metrics.update(extra_evaluation(candidate, evaluation))
        if serving is not None and serving_metrics is not None:
            serving_metrics.update(extra_evaluation(serving, evaluation))
    if serving_metrics is not None:
        metrics["serving_model"] = {"version": serving.version if serving else None, **serving_metrics}
    path, sha = registry.write_artifact(models_dir, version, booster, spec)
    row = registry.register(
        session,
        actor,
        version=version,
        artifact=path,
        sha256=sha,
        params={
            **config.lightgbm_params(),
            "num_boost_round": config.rounds,
            "snapshot_hours": config.snapshot_hours,
        },
        metrics=metrics,
        train_from=dt.datetime.fromtimestamp(train_times[0], dt.UTC),
        train_to=dt.datetime.fromtimestamp(train_times[-1] + LABEL_SECONDS, dt.UTC),
        fingerprint=data_fingerprint,
    )
    promoted = not_worse(metrics, serving_metrics)
    if promoted:
        registry.promote(session, actor, version)
    return TrainingResult(row, promoted, metrics, serving_metrics, rows=len(train.labels))


def latest_activity(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(ProductHourlyMetrics.hour_start)))
