"""The one table of endpoint -> minimum role, assembled from each domain's `ACCESS` list.

A domain adds its endpoints to tests/<domain>/access.py; tests/test_access.py checks every row
and fails for any route of the app that no table mentions.
"""

from __future__ import annotations

from dataclasses import dataclass

from resight.users.models import Role

PUBLIC = None  # no bearer token needed (health, login, webhooks verified by their own credentials)


@dataclass(frozen=True)
class Access:
    method: str
    path: str  # the route's path template, as FastAPI declares it
    minimum: Role | None
    example: str | None = None  # a concrete path to call; defaults to `path` with ids set to 1
    # A POST that only reads (e.g. POST /rank takes its query as a JSON body).
    reads_only: bool = False

    @property
    def url(self) -> str:
        if self.example is not None:
            return self.example
        import re

        return re.sub(r"\{[^}]+\}", "1", self.path)
