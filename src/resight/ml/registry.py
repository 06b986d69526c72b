"""The model registry: artifacts on disk, their rows in ml_models, and the model in service.

An artifact is one JSON file holding the LightGBM model text and the FeatureSpec fitted with it;
its SHA-256 is recorded at registration, so a truncated or altered file is refused at load time and
the process keeps serving the last model it loaded successfully (GET / reports the problem).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resight.audit.service import Actor, record
from resight.db import utcnow
from resight.errors import Conflict, NotFound
from resight.ml.features import FEATURE_NAMES, FeatureSpec, Floats
from resight.ml.models import MlModel, ModelStatus

if TYPE_CHECKING:
    # Imported where a model is loaded, not at start: lightgbm.compat pulls in pandas and
    # scikit-learn when they are installed (~5 s of CPU), which a process that loads no model (most
    # CLI commands and tests, a server before its first model) should not pay for.
    import lightgbm as lgb

ARTIFACT_FORMAT = 1


def _threads(x: Floats) -> int:
    # Starting a second OpenMP thread costs more than a few thousand rows take to predict.
    return 2 if x.shape[0] >= 10_000 else 1


@dataclass(frozen=True, eq=False)
class LoadedModel:
    version: str
    booster: lgb.Booster
    spec: FeatureSpec
    features: tuple[str, ...]

    def predict(self, x: Floats) -> Floats:
        """Expected orders in the next 24 hours (the Poisson mean)."""
        out: Floats = np.asarray(self.booster.predict(x, num_threads=_threads(x)), dtype=np.float64)
        return out

    def raw(self, x: Floats) -> Floats:
        """log(expected orders): the space in which explanations add up."""
        out: Floats = np.asarray(
            self.booster.predict(x, raw_score=True, num_threads=_threads(x)), dtype=np.float64
        )
        return out


def write_artifact(
    directory: Path, version: str, booster: lgb.Booster, spec: FeatureSpec
) -> tuple[Path, str]:
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": ARTIFACT_FORMAT,
        "version": version,
        "features": list(FEATURE_NAMES),
        "spec": spec.to_json(),
        "booster": booster.model_to_string(),
    }
    data = json.dumps(payload, sort_keys=True).encode()
    path = directory / f"{version}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)  # atomic: a reader never sees half a file
    return path, hashlib.sha256(data).hexdigest()


class ArtifactError(Exception):
    """The artifact is missing, altered or unreadable."""


def read_artifact(path: Path, sha256: str) -> LoadedModel:
    import lightgbm as lgb  # here, not at the top: see the TYPE_CHECKING import above

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtifactError(f"{path} does not match its recorded SHA-256 (altered or truncated)")
    try:
        payload = json.loads(data)
        booster = lgb.Booster(model_str=payload["booster"])
        spec = FeatureSpec.from_json(payload["spec"])
        features = tuple(payload["features"])
    except (ValueError, KeyError, TypeError, lgb.basic.LightGBMError) as exc:
        raise ArtifactError(f"{path} is not a valid model artifact: {exc}") from exc
    if features != FEATURE_NAMES:
        raise ArtifactError(f"{path} was trained on other features than this version of ReSight computes")
    return LoadedModel(version=str(payload["version"]), booster=booster, spec=spec, features=features)


def serving_row(session: Session) -> MlModel | None:
    return session.scalars(
        select(MlModel)
        .where(MlModel.status == ModelStatus.serving)
        .order_by(MlModel.promoted_at.desc())
        .limit(1)
    ).first()


class ModelStore:
    """This process's model in service: reloaded when the registry's serving version changes; a
    version whose artifact cannot be loaded leaves the previous one in service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: LoadedModel | None = None
        self.problem: str | None = None
        self._failed: tuple[str, str] | None = None  # (version, sha) that failed, not retried

    def serving(self, session: Session) -> LoadedModel | None:
        row = serving_row(session)
        with self._lock:
            if row is None:
                return self.current
            if self.current is not None and self.current.version == row.version:
                return self.current
            if self._failed == (row.version, row.artifact_sha256):
                return self.current
            try:
                self.current = read_artifact(Path(row.artifact_path), row.artifact_sha256)
            except ArtifactError as exc:
                self._failed = (row.version, row.artifact_sha256)
                kept = f"still serving {self.current.version}" if self.current else "no model in service"
                self.problem = f"model {row.version} could not be loaded ({exc}); {kept}"
                return self.current
            self._failed, self.problem = None, None
            return self.current


def register(
    session: Session,
    actor: Actor,
    *,
    version: str,
    artifact: Path,
    sha256: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    train_from: dt.datetime,
    train_to: dt.datetime,
    fingerprint: str,
) -> MlModel:
    row = MlModel(
        version=version,
        status=ModelStatus.candidate,
        artifact_path=str(artifact),
        artifact_sha256=sha256,
        features=list(FEATURE_NAMES),
        params=params,
        metrics=metrics,
        train_from=train_from,
        train_to=train_to,
        data_fingerprint=fingerprint,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "model.trained",
        "ml_model",
        version,
        new={"metrics": metrics, "train_from": train_from, "train_to": train_to, "fingerprint": fingerprint},
    )
    return row


def get_model(session: Session, version: str) -> MlModel:
    row = session.scalars(select(MlModel).where(MlModel.version == version)).first()
    if row is None:
        raise NotFound(f"no model with version {version!r}")
    return row


def promote(session: Session, actor: Actor, version: str) -> MlModel:
    row = session.scalars(select(MlModel).where(MlModel.version == version).with_for_update()).first()
    if row is None:
        raise NotFound(f"no model with version {version!r}")
    if row.status is ModelStatus.serving:
        raise Conflict(f"model {version} is already serving")
    previous = serving_row(session)
    session.execute(
        update(MlModel).where(MlModel.status == ModelStatus.serving).values(status=ModelStatus.retired)
    )
    row.status = ModelStatus.serving
    row.promoted_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "model.promoted",
        "ml_model",
        version,
        old={"serving": previous.version if previous else None},
        new={"serving": version},
    )
    return row


def list_models(session: Session, limit: int, after_id: int | None) -> Sequence[MlModel]:
    query = select(MlModel).order_by(MlModel.id.desc()).limit(limit + 1)
    if after_id is not None:
        query = query.where(MlModel.id < after_id)
    return session.scalars(query).all()
