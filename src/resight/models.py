"""Imports every domain's tables so that Base.metadata is complete (migrations, tests)."""

from resight.audit import models as audit_models
from resight.catalog import models as catalog_models
from resight.events import models as events_models
from resight.integrations import models as integrations_models
from resight.ml import models as ml_models
from resight.rules import models as rules_models
from resight.simulator import models as simulator_models
from resight.users import models as users_models

__all__ = [
    "audit_models",
    "catalog_models",
    "events_models",
    "integrations_models",
    "ml_models",
    "rules_models",
    "simulator_models",
    "users_models",
]
