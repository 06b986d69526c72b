"""The committed JSON Schemas of our own webhook formats, generated from the pydantic models.

Regenerate after changing a model: `python -m resight.integrations.schemas` (a test fails while
docs/integrations/*.schema.json differ from what the models say).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resight.integrations import meesho, myntra

SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "myntra.schema.json": myntra.json_schema,
    "meesho.schema.json": meesho.json_schema,
}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


def write(directory: Path) -> list[Path]:
    written = []
    for name in SCHEMAS:
        path = directory / name
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/integrations")
    target.mkdir(parents=True, exist_ok=True)
    for path in write(target):
        sys.stdout.write(f"wrote {path}\n")
